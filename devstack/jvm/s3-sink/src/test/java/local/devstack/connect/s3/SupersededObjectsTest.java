package local.devstack.connect.s3;

import static local.devstack.connect.s3.Records.T0;
import static local.devstack.connect.s3.Records.TOPIC;
import static local.devstack.connect.s3.Records.TP;
import static local.devstack.connect.s3.Records.props;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongUnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

/**
 * Offsets written again with newer records (a broker that lost the end of its log and took new records at those
 * offsets, or a re-created topic), cut into batches differently each time: the objects they replace must go once
 * the new ones cover them, so the lake holds each offset once, the newest record at it, and loses none.
 */
class SupersededObjectsTest {
  private static final Pattern LINE = Pattern.compile("\\{\"id\":(\\d+),\"gen\":(\\d+)}");
  /** When the broker lost offsets 16 on and new records took them. */
  private static final long REASSIGNED_AT = T0 + 100_000;
  /** Where the partition ends after the new records: past the first writer's last batch, so they cover it. */
  private static final long END = 48;

  private final FakeStorage storage = new FakeStorage();
  private final FakeContext context = new FakeContext();
  /** The partition as Kafka holds it now: offset -> record. */
  private final TreeMap<Long, SinkRecord> log = new TreeMap<>();

  private TopicPartitionWriter writer(int flushSize, long now, String... overrides) {
    List<String> settings = new ArrayList<>(List.of(overrides));
    settings.addAll(List.of("flush.size", Integer.toString(flushSize)));
    S3SinkConfig config = new S3SinkConfig(props(settings.toArray(String[]::new)));
    return new TopicPartitionWriter(TP, config, Partitioner.of(config, Locale.ROOT),
        TimestampExtractor.of(config.getString(S3SinkConfig.TIMESTAMP_EXTRACTOR), "ts"),
        new RecordFormat(false, -1), storage, context::offset, now);
  }

  /** Offsets [from, to) of generation {@code gen}, produced at {@code time}, are now on the partition. */
  private void produce(long from, long to, int gen, long time) {
    produce(from, to, gen, offset -> time);
  }

  private void produce(long from, long to, int gen, LongUnaryOperator times) {
    for (long offset = from; offset < to; offset++) {
      long time = times.applyAsLong(offset);
      byte[] value = ("{\"id\":" + offset + ",\"gen\":" + gen + "}").getBytes(StandardCharsets.UTF_8);
      log.put(offset, new SinkRecord(TOPIC, 0, null, null, null, value, offset, time, TimestampType.CREATE_TIME));
    }
  }

  /**
   * The worker's deliveries of [from, to) one record a poll, honouring the rewinds the writer asks for: every
   * offset it could commit on the way (preCommit between two polls), in order, until S3 fails (a crash).
   */
  private List<Long> deliver(TopicPartitionWriter writer, long from, long to, long now) {
    List<Long> commits = new ArrayList<>();
    long next = from;
    while (next < to) {
      try {
        writer.write(log.get(next), now);
      } catch (RetriableException e) {
        return commits;
      }
      Long rewind = context.rewinds.remove(TP);
      if (rewind != null) {
        next = rewind;
      } else {
        next++;
      }
      long commit = writer.offsetToCommit(next);
      if (rewind != null) {
        writer.rewound(); // the worker's next poll delivers from the rewind
      }
      if (commit >= 0) {
        commits.add(commit);
      }
    }
    return commits;
  }

  /** offset -> the generations of the lines the lake holds for it (twice written: two entries). */
  private TreeMap<Long, List<Integer>> lake() {
    TreeMap<Long, List<Integer>> lake = new TreeMap<>();
    for (String line : storage.lines()) {
      Matcher m = LINE.matcher(line);
      assertTrue(m.matches(), line);
      lake.computeIfAbsent(Long.parseLong(m.group(1)), k -> new ArrayList<>()).add(Integer.parseInt(m.group(2)));
    }
    return lake;
  }

  /** Each offset in the lake once, as Kafka holds it now, and every offset below {@code to} there. */
  private void assertExactly(long to, String when) {
    Map<Long, List<Integer>> lake = lake();
    for (Map.Entry<Long, List<Integer>> e : lake.entrySet()) {
      assertEquals(List.of(gen(e.getKey())), e.getValue(),
          when + ": offset " + e.getKey() + " in " + storage.objects.keySet());
    }
    assertNothingLostBelow(to, when);
  }

  private int gen(long offset) {
    String line = new String((byte[]) log.get(offset).value(), StandardCharsets.UTF_8);
    return Integer.parseInt(line.replaceAll(".*\"gen\":(\\d+).*", "$1"));
  }

  /** Nothing committed is missing: every offset below {@code committed} is in the lake, as Kafka holds it now. */
  private void assertNothingLostBelow(long committed, String when) {
    Map<Long, List<Integer>> lake = lake();
    for (long offset = 0; offset < committed; offset++) {
      int gen = gen(offset);
      List<Integer> held = lake.getOrDefault(offset, List.of());
      if (!held.contains(gen)) {
        fail(when + ": offset " + offset + " is committed but the lake holds " + held + " of it, not gen " + gen);
      }
    }
  }

  /** 0..39 written in batches of 10; then the broker lost 16 on, and new records took offsets 16..END-1. */
  private void writtenThenReassigned() {
    produce(0, 40, 1, T0);
    deliver(writer(10, T0 + 10_000), 0, 40, T0 + 10_000);
    produce(16, END, 2, REASSIGNED_AT);
  }

  /** The writer's offset to commit once it has taken every record up to the end. */
  private static long committed(List<Long> commits) {
    return commits.get(commits.size() - 1);
  }

  @Test
  void reassignedOffsetsReplayedCutAnotherWayThenReplayedAgainAreInTheLakeOnce() {
    writtenThenReassigned();
    List<Long> commits = deliver(writer(7, T0 + 200_000), 16, 33, T0 + 200_000); // the worker dies at 32
    long done = committed(deliver(writer(4, T0 + 300_000), committed(commits), END, T0 + 300_000));
    assertTrue(done >= 40, "the new records cover the first writer's batches: " + done);
    assertExactly(done, "after the rewrite");

    List<String> writes = List.copyOf(storage.writes);
    deliver(writer(3, T0 + 400_000), 0, END, T0 + 400_000); // a rebalance replays everything
    assertEquals(writes, storage.writes, "a replay of what the lake holds writes nothing");
    assertExactly(done, "after a replay from 0");
  }

  @Test
  void aRecreatedTopicsRecordsReplaceTheObjectsOfItsPredecessor() {
    produce(0, 30, 1, T0);
    deliver(writer(10, T0 + 10_000), 0, 30, T0 + 10_000);
    log.clear();
    produce(0, 35, 2, REASSIGNED_AT); // deleted and created again: offsets from 0 anew
    TopicPartitionWriter next = writer(7, T0 + 200_000);
    long done = committed(deliver(next, 0, 35, T0 + 200_000));
    assertTrue(done >= 30, "the new records cover the old topic's batches: " + done);
    assertExactly(done, "the new topic's records, each once");
    assertTrue(storage.deletes.containsAll(List.of(Records.key(10), Records.key(20))), storage.deletes.toString());
  }

  @Test
  void aBatchOfSeveralObjectsGoesWholeOnceNewerBatchesCoverIt() {
    String[] hourly = {"partitioner.class", S3SinkConfig.TIME_BASED_PARTITIONER, "path.format", "'hour'=HH",
        "partition.duration.ms", "3600000", "locale", "en-US", "timezone", "UTC", "timestamp.extractor", "Record"};
    produce(0, 12, 1, offset -> offset % 2 == 0 ? T0 : T0 + 3_600_000); // hours 03 and 04 in turn
    deliver(writer(4, T0 + 7_200_000, hourly), 0, 12, T0 + 7_200_000);
    assertEquals(6, storage.objects.size(), "three batches of two objects: " + storage.objects.keySet());
    log.clear();
    produce(0, 15, 2, T0 + 10_800_000); // a re-created topic's records, all in hour 06
    long done = committed(deliver(writer(5, T0 + 14_400_000, hourly), 0, 15, T0 + 14_400_000));
    assertTrue(done >= 12, "the new records cover the old topic's batches: " + done);
    assertExactly(done, "the hourly objects of the old topic replaced");
    assertTrue(storage.objects.keySet().stream().allMatch(k -> k.contains("/hour=06/")), storage.objects.keySet()
        .toString());
  }

  @Test
  void deletionsFailingLeaveDuplicatesThatTheNextStartRemoves() {
    writtenThenReassigned();
    storage.deletesFail = true;
    long committed = committed(deliver(writer(7, T0 + 200_000), 16, END, T0 + 200_000));
    assertNothingLostBelow(committed, "deletes failing");
    storage.deletesFail = false;
    long done = committed(deliver(writer(4, T0 + 300_000), committed, END, T0 + 300_000));
    assertExactly(done, "once the next start could delete");
    assertTrue(done >= 40, "the new records cover the first writer's batches: " + done);
  }

  @Test
  void aCrashAtAnyWriteOfTheRewriteLosesNothingAndTheNextStartLeavesEachOffsetOnce() {
    for (int flushSize : new int[] {3, 7}) { // 3: the rewrite from 10 would cut before 16, were it let
      for (int writes = 0; writes <= 14; writes++) {
        for (long committed : crashedRewrite(flushSize, writes)) {
          String when = "flush.size " + flushSize + ", S3 down after " + writes + " writes of the rewrite, committed "
              + committed;
          crashedRewrite(flushSize, writes);
          assertNothingLostBelow(committed, when);
          long done = committed(deliver(writer(4, T0 + 300_000), committed, END, T0 + 300_000));
          assertTrue(done >= 40, when + ": the new records cover the first writer's batches: " + done);
          assertExactly(done, when + ", restarted");
        }
      }
    }
  }

  /** The rewrite from 16, S3 failing after {@code writes} of its puts: every offset it may have committed. */
  private Set<Long> crashedRewrite(int flushSize, int writes) {
    storage.objects.clear();
    log.clear();
    storage.down = false;
    writtenThenReassigned();
    storage.writesLeft = writes;
    List<Long> commits = deliver(writer(flushSize, T0 + 200_000), 16, END, T0 + 200_000);
    storage.writesLeft = -1;
    storage.down = false;
    Set<Long> possible = new LinkedHashSet<>(commits);
    possible.add(16L); // what the first writer committed before the broker lost its log
    return possible;
  }
}
