package local.devstack.connect.s3;

import static local.devstack.connect.s3.Records.T0;
import static local.devstack.connect.s3.Records.TP;
import static local.devstack.connect.s3.Records.ids;
import static local.devstack.connect.s3.Records.key;
import static local.devstack.connect.s3.Records.props;
import static local.devstack.connect.s3.Records.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.connect.errors.RetriableException;
import org.junit.jupiter.api.Test;

/** The task on a fake bucket and clock: S3 outages, rewinds, and what it commits. */
class S3SinkTaskTest {
  private final FakeStorage storage = new FakeStorage();
  private final FakeContext context = new FakeContext();
  private final AtomicLong clock = new AtomicLong(T0 + 3_600_000);

  private S3SinkTask task(String... overrides) {
    S3SinkTask task = new S3SinkTask(props(overrides), context, storage, clock::get);
    task.open(Set.of(TP));
    return task;
  }

  private static Map<org.apache.kafka.common.TopicPartition, OffsetAndMetadata> consumed(long offset) {
    return Map.of(TP, new OffsetAndMetadata(offset));
  }

  @Test
  void openAndCloseDoNotTouchS3SoAnOutageThereCannotKillTheTask() {
    storage.down = true;
    S3SinkTask task = task();
    task.close(Set.of(TP));
    task.open(Set.of(TP));
    assertEquals(0, storage.calls);
  }

  @Test
  void s3DownWhenThePartitionOpensThenBackLosesAndDuplicatesNothing() {
    storage.down = true;
    S3SinkTask task = task();
    RetriableException e = assertThrows(RetriableException.class, () -> task.put(range(0, 25)));
    assertTrue(e.getMessage().contains("listing topics/cards/"), e.getMessage());
    assertEquals(1000, context.timeout, "the worker delivers the records again after retry.backoff.ms");
    assertTrue(task.preCommit(consumed(0)).isEmpty(), "nothing is committed before S3 was read back");

    assertThrows(RetriableException.class, () -> task.put(range(0, 25))); // still down: again, and again
    storage.down = false;
    task.put(range(0, 25));
    assertEquals(Set.of(key(0), key(10)), storage.objects.keySet());
    assertEquals(ids(0, 20), storage.ids());
    assertEquals(20, task.preCommit(consumed(25)).get(TP).offset(), "5 records are in memory only");
  }

  @Test
  void s3FailingBetweenTwoObjectsOfAPutRewritesNothingTwice() {
    S3SinkTask task = task();
    storage.writesLeft = 1;
    assertThrows(RetriableException.class, () -> task.put(range(0, 30)));
    assertEquals(10, task.preCommit(consumed(0)).get(TP).offset());
    storage.down = false;
    task.put(range(0, 30)); // the worker's delivery again of the same records
    assertEquals(ids(0, 30), storage.ids());
    assertEquals(List.of(key(0), key(10), key(20)), storage.writes);
    assertEquals(30, task.preCommit(consumed(30)).get(TP).offset());
  }

  @Test
  void aScheduledRotationFailingInPreCommitCommitsNothingPastS3AndLandsOnceS3IsBack() {
    S3SinkTask task = task("flush.size", "1000", "rotate.schedule.interval.ms", "1000", "timezone", "UTC");
    task.put(range(0, 5));
    storage.down = true;
    clock.addAndGet(1500);
    assertEquals(0, task.preCommit(consumed(5)).get(TP).offset(), "preCommit never throws, nor commits past S3");
    storage.down = false;
    assertEquals(5, task.preCommit(consumed(5)).get(TP).offset());
    assertEquals(ids(0, 5), storage.ids());
  }

  @Test
  void aRewindOverALakeWithAHoleInTheMiddleRewritesExactlyTheMissingObject() {
    S3SinkTask first = task();
    first.put(range(0, 50));
    assertEquals(5, storage.objects.size());
    storage.objects.remove(key(20)); // the lake lost an object
    storage.writes.clear();

    S3SinkTask rewound = new S3SinkTask(props(), context, storage, clock::get); // resumed with offsets at 0
    rewound.open(Set.of(TP));
    rewound.put(range(0, 55));
    assertEquals(List.of(key(20)), storage.writes, "only what the lake lost is written");
    assertEquals(ids(0, 50), storage.ids());
    assertEquals(50, rewound.preCommit(consumed(55)).get(TP).offset());
  }

  @Test
  void aRewindIntoABatchTheLakeHoldsOnlyPartOfRewindsToItsStartAndWritesItWhole() {
    String[] hourly = {"flush.size", "4", "partitioner.class", S3SinkConfig.TIME_BASED_PARTITIONER,
        "path.format", "'hour'=HH", "partition.duration.ms", "3600000", "locale", "en-US", "timezone", "UTC",
        "timestamp.extractor", "Record"};
    // offsets 0, 1, 3 in hour 03 and 2 in hour 04: one batch of two objects, then a batch of one object
    S3SinkTask first = task(hourly);
    first.put(range(0, 8, offset -> offset == 2 ? T0 + 3_600_000 : T0));
    String hour3 = "topics/cards/hour=03/cards+0+0000000000.json";
    String hour4 = "topics/cards/hour=04/cards+0+0000000002.json";
    assertEquals(Set.of(hour3, hour4, "topics/cards/hour=03/cards+0+0000000004.json"), storage.objects.keySet());
    storage.objects.remove(hour3); // the batch [0, 4) lost one of its two objects

    S3SinkTask resumed = task(hourly);
    resumed.put(range(2, 8, offset -> offset == 2 ? T0 + 3_600_000 : T0)); // a rewind to offset 2
    assertEquals(Map.of(TP, 0L), context.rewinds, "the task asks the worker for the batch's start");
    assertEquals(0, resumed.preCommit(consumed(8)).get(TP).offset());
    assertFalse(storage.objects.containsKey(hour3));

    resumed.put(range(0, 8, offset -> offset == 2 ? T0 + 3_600_000 : T0)); // the worker rewound
    assertTrue(storage.deletes.contains(hour4), "what was left of the partial batch was deleted first");
    assertEquals(ids(0, 8), storage.ids());
  }

  @Test
  void wallClockCutBatchesAreNotWrittenAgainWhenARestartCutsThemElsewhere() {
    String[] schedule = {"flush.size", "1000", "rotate.schedule.interval.ms", "1000", "timezone", "UTC"};
    long start = clock.get();
    S3SinkTask crashed = task(schedule);
    crashed.put(range(0, 7));
    clock.set(start + 1100);
    crashed.put(range(7, 13)); // offset 7 is past the scheduled rotation: [0, 7) is written
    clock.set(start + 2100);
    crashed.preCommit(consumed(13)); // [7, 13) is written
    crashed.put(range(13, 17)); // in memory when the worker dies
    assertEquals(List.of(key(0), key(7)), storage.writes);

    clock.set(start + 5050);
    S3SinkTask restarted = task(schedule); // re-delivers from offset 0: no commit was made
    restarted.put(range(0, 21)); // one put: this run would cut [0, 21) as one batch
    clock.set(start + 6100);
    assertEquals(21, restarted.preCommit(consumed(21)).get(TP).offset());
    assertEquals(List.of(key(0), key(7), key(13)), storage.writes);
    assertEquals(ids(0, 21), storage.ids());
  }
}
