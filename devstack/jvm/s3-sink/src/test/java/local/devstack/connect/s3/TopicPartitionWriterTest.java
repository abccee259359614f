package local.devstack.connect.s3;

import static local.devstack.connect.s3.Records.T0;
import static local.devstack.connect.s3.Records.TP;
import static local.devstack.connect.s3.Records.ids;
import static local.devstack.connect.s3.Records.key;
import static local.devstack.connect.s3.Records.props;
import static local.devstack.connect.s3.Records.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.connect.sink.SinkRecord;
import org.joda.time.DateTimeZone;
import org.junit.jupiter.api.Test;

/** One partition's writer on a fake bucket: rotation, and what it skips of what S3 holds. */
class TopicPartitionWriterTest {
  private final FakeStorage storage = new FakeStorage();
  private final FakeContext context = new FakeContext();

  private TopicPartitionWriter writer(String... overrides) {
    S3SinkConfig config = new S3SinkConfig(props(overrides));
    return new TopicPartitionWriter(TP, config, Partitioner.of(config, Locale.ROOT),
        TimestampExtractor.of(config.getString(S3SinkConfig.TIMESTAMP_EXTRACTOR), "ts"),
        new RecordFormat(false, -1), storage, context::offset, T0);
  }

  private static void write(TopicPartitionWriter writer, List<SinkRecord> records, long now) {
    for (SinkRecord record : records) {
      writer.write(record, now);
    }
  }

  @Test
  void flushSizeRotatesAndOnlyWhatIsInS3IsCommitted() {
    TopicPartitionWriter writer = writer("flush.size", "3");
    write(writer, range(0, 8), T0);
    assertEquals(List.of(key(0), key(3)), storage.writes);
    assertEquals(6, writer.offsetToCommit(8));
    Map<String, String> metadata = storage.objects.get(key(3)).metadata();
    assertEquals("3", metadata.get(Lake.BATCH_START));
    assertEquals("6", metadata.get(Lake.BATCH_END));
    assertEquals("1", metadata.get(Lake.BATCH_OBJECTS));
  }

  @Test
  void theOpenBatchEndsWhereABatchS3HoldsBegins() {
    TopicPartitionWriter first = writer("flush.size", "10");
    write(first, range(0, 30), T0);
    storage.objects.remove(key(0));
    storage.objects.remove(key(20));
    storage.writes.clear();

    TopicPartitionWriter rewound = writer("flush.size", "100");
    write(rewound, range(0, 25), T0 + 1);
    assertEquals(List.of(key(0)), storage.writes, "0..9 written before the held [10, 20), though not 100 yet");
    assertEquals(20, rewound.offsetToCommit(25), "20..24 are in memory");
    assertEquals(ids(0, 20), storage.ids());
  }

  @Test
  void readingBackReadsTheMetadataOfTheObjectsFromTheFirstRecordOnOnly() {
    write(writer("flush.size", "1"), range(0, 1000), T0);
    storage.heads = 0;
    TopicPartitionWriter resumed = writer("flush.size", "1");
    write(resumed, range(1000, 1001), T0 + 1);
    assertEquals(1, storage.heads, "the last object only: it ends before the first record");
    storage.heads = 0;
    TopicPartitionWriter rewound = writer("flush.size", "1");
    write(rewound, range(990, 1001), T0 + 1);
    assertEquals(11, storage.heads, "the replayed range's objects, once each");
    assertEquals(ids(0, 1001), storage.ids());
  }

  @Test
  void aRecordNewerThanTheBatchAtItsOffsetIsARecreatedTopicsAndIsWritten() {
    write(writer("flush.size", "5"), range(0, 5), T0 + 10);
    TopicPartitionWriter next = writer("flush.size", "5");
    write(next, range(0, 5, offset -> T0 + 20), T0 + 30); // produced after the batch at [0, 5) was written
    assertEquals(List.of(key(0), key(0)), storage.writes);
  }

  @Test
  void scheduledRotationWaitsForTheNextMultipleOfTheIntervalFromMidnight() {
    long midnight = 1_767_312_000_000L; // 2026-01-02T00:00:00Z
    assertEquals(midnight + 3_000, TopicPartitionWriter.nextTimeAdjustedByDay(midnight + 2_500, 1_000,
        DateTimeZone.UTC));
    assertEquals(midnight + 86_400_000, TopicPartitionWriter.nextTimeAdjustedByDay(midnight + 86_399_999,
        7_000_000, DateTimeZone.UTC), "never past the next midnight");
    TopicPartitionWriter writer = writer("flush.size", "100", "rotate.schedule.interval.ms", "1000",
        "timezone", "UTC");
    write(writer, range(0, 3), T0 + 100);
    writer.tick(T0 + 999);
    assertTrue(storage.writes.isEmpty());
    assertEquals(900, writer.msUntilScheduledRotation(T0 + 100));
    writer.tick(T0 + 1000);
    assertEquals(List.of(key(0)), storage.writes);
  }
}
