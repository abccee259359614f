package local.devstack.connect.s3;

import java.io.ByteArrayOutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.joda.time.DateTime;
import org.joda.time.DateTimeZone;

/**
 * The open objects of one topic partition, rotated as Confluent's TopicPartitionWriter rotates them: all open
 * objects are written together when they hold flush.size records, when a record's time is rotate.interval.ms past
 * the batch's first record or falls in another time partition (time-based partitioners), or at the next
 * rotate.schedule.interval.ms boundary of the wall clock. Each object is named by the offset of its first record,
 * so a batch re-delivered from the last committed offset is cut and named the same (without scheduled rotation)
 * and overwrites what a crashed run wrote. Only offsets below the first record still in memory are committed.
 *
 * <p>Wall-clock rotation cuts a re-delivered batch elsewhere than the crashed run did, so names alone cannot keep the
 * lake exact. Every object therefore records its batch (first offset, offset after its last record, objects in the
 * batch) in its S3 metadata, and a writer opened on a partition skips the records below the end of the last batch
 * S3 holds whole ({@link #durableEnd}): what is in the lake is never written twice, whichever rule cut it.
 */
final class TopicPartitionWriter {
  interface ObjectStore {
    /** Writes one whole object; throws a RetriableException when S3 cannot be reached (nothing is lost). */
    void put(String key, byte[] body, Map<String, String> metadata);
  }

  /** S3 user metadata of every object: its batch's first offset, the offset after it, and its object count. */
  static final String BATCH_START = "kde-batch-start";
  static final String BATCH_END = "kde-batch-end";
  static final String BATCH_OBJECTS = "kde-batch-objects";
  static final String WRITTEN_AT = "kde-written-at";

  /** What S3 held for a partition when it was opened: records below {@code end} were written by {@code writtenAt}. */
  record Durable(long end, long writtenAt) {
    static final Durable NONE = new Durable(0, Long.MAX_VALUE);
  }

  private static final class OpenObject {
    final long startOffset;
    long lastOffset;
    final ByteArrayOutputStream lines = new ByteArrayOutputStream();

    OpenObject(long startOffset) {
      this.startOffset = startOffset;
    }
  }

  private final TopicPartition tp;
  private final S3SinkConfig config;
  private final Partitioner partitioner;
  private final TimestampExtractor extractor;
  private final RecordFormat format;
  private final ObjectStore store;
  private final Map<String, OpenObject> open = new LinkedHashMap<>();
  private int recordCount;
  private long batchStart = -1; // offset of the first record not yet in S3, -1: none
  private long nextOffset = -1; // offset after the last record taken, -1: none yet
  private Long baseTimestamp;
  private String currentPartition;
  private long nextScheduledRotation;
  private Durable durable; // records below durable.end are in S3 already (recovered when the partition was opened)

  TopicPartitionWriter(
      TopicPartition tp, S3SinkConfig config, Partitioner partitioner, TimestampExtractor extractor,
      RecordFormat format, ObjectStore store, long now, Durable durable) {
    this.tp = tp;
    this.durable = durable;
    this.config = config;
    this.partitioner = partitioner;
    this.extractor = partitioner.isTimeBased() ? extractor : null;
    this.format = format;
    this.store = store;
    scheduleNextRotation(now);
  }

  void write(SinkRecord record, long now) {
    if (nextOffset >= 0 && record.kafkaOffset() < nextOffset) {
      return; // re-delivered after a retriable failure of an earlier put: already held
    }
    if (record.kafkaOffset() < durable.end()) {
      if (record.timestamp() == null || record.timestamp() <= durable.writtenAt()) {
        return; // re-delivered after a crash, but already in S3
      }
      // a record newer than the objects at its offset: a re-created topic, and the lake holds its predecessor's
      durable = Durable.NONE;
    }
    if (recordCount >= config.flushSize()) {
      commit(now); // a rotation whose upload failed before: retried first
    }
    if (record.value() == null && !config.ignoreNullValues()) {
      throw new ConnectException(TimestampExtractor.where(record)
          + " has a null value (a tombstone) and behavior.on.null.values=fail; set it to ignore to skip them");
    }
    if (batchStart < 0) {
      batchStart = record.kafkaOffset();
    }
    nextOffset = record.kafkaOffset() + 1;
    if (record.value() == null) {
      if (recordCount == 0) {
        batchStart = -1; // nothing held: the tombstone's offset may be committed
      }
      return;
    }
    Long timestamp = extractor == null ? null : extractor.extract(record, now);
    String encoded = partitioner.encodePartition(record, timestamp);
    if (rotateOnTime(encoded, timestamp, now)) {
      commit(now);
      batchStart = record.kafkaOffset();
    }
    if (baseTimestamp == null) {
      baseTimestamp = timestamp;
    }
    currentPartition = encoded;
    OpenObject object = open.computeIfAbsent(encoded, k -> new OpenObject(record.kafkaOffset()));
    object.lastOffset = record.kafkaOffset();
    byte[] line = format.line(record);
    object.lines.write(line, 0, line.length);
    object.lines.write('\n');
    recordCount++;
    if (recordCount >= config.flushSize()) {
      commit(now);
    }
  }

  /** Scheduled rotation when no record arrives (called after every put and before every offset commit). */
  void tick(long now) {
    if (recordCount > 0 && scheduledRotationDue(now)) {
      commit(now);
    }
  }

  /** ms until this writer's next scheduled rotation, or -1 when it holds nothing or has no schedule. */
  long msUntilScheduledRotation(long now) {
    if (recordCount == 0 || config.rotateScheduleIntervalMs() <= 0) {
      return -1;
    }
    return Math.max(0, nextScheduledRotation - now);
  }

  /** What may be committed: everything before the first record not yet in S3, else all that was consumed. */
  long offsetToCommit(long consumed) {
    return batchStart >= 0 ? batchStart : consumed;
  }

  private boolean rotateOnTime(String encoded, Long timestamp, long now) {
    if (recordCount == 0) {
      return false;
    }
    boolean periodic =
        config.rotateIntervalMs() > 0
            && timestamp != null
            && (timestamp - baseTimestamp >= config.rotateIntervalMs() || !encoded.equals(currentPartition));
    return periodic || scheduledRotationDue(now);
  }

  private boolean scheduledRotationDue(long now) {
    return config.rotateScheduleIntervalMs() > 0 && now >= nextScheduledRotation;
  }

  private void commit(long now) {
    if (!open.isEmpty()) {
      Map<String, String> batch = batchMetadata();
      for (Map.Entry<String, OpenObject> e : open.entrySet()) {
        store.put(key(e.getKey(), e.getValue().startOffset), format.object(e.getValue().lines.toByteArray()), batch);
      }
    }
    open.clear();
    recordCount = 0;
    batchStart = -1;
    baseTimestamp = null;
    scheduleNextRotation(now);
  }

  private Map<String, String> batchMetadata() {
    long start = Long.MAX_VALUE;
    long end = -1;
    for (OpenObject object : open.values()) {
      start = Math.min(start, object.startOffset);
      end = Math.max(end, object.lastOffset + 1);
    }
    return Map.of(BATCH_START, Long.toString(start), BATCH_END, Long.toString(end),
        BATCH_OBJECTS, Integer.toString(open.size()), WRITTEN_AT, Long.toString(System.currentTimeMillis()));
  }

  String key(String encodedPartition, long startOffset) {
    String offset = String.format("%0" + Math.max(1, config.zeroPadWidth()) + "d", startOffset);
    return config.topicsDir() + "/" + tp.topic() + "/" + encodedPartition + "/" + tp.topic() + "+"
        + tp.partition() + "+" + offset + format.extension();
  }

  private void scheduleNextRotation(long now) {
    long interval = config.rotateScheduleIntervalMs();
    if (interval > 0) {
      nextScheduledRotation = nextTimeAdjustedByDay(now, interval, config.timezone());
    }
  }

  /** The next multiple of {@code interval} counted from midnight in {@code zone}, at most the next midnight. */
  static long nextTimeAdjustedByDay(long now, long interval, DateTimeZone zone) {
    DateTime time = new DateTime(now, zone);
    long startOfDay = time.withTimeAtStartOfDay().getMillis();
    long startOfNextDay = time.plusDays(1).withTimeAtStartOfDay().getMillis();
    long next = ((now - startOfDay) / interval + 1) * interval;
    return Math.min(startOfDay + next, startOfNextDay);
  }
}
