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
 */
final class TopicPartitionWriter {
  interface ObjectStore {
    /** Writes one whole object; throws a RetriableException when S3 cannot be reached (nothing is lost). */
    void put(String key, byte[] body);
  }

  private static final class OpenObject {
    final long startOffset;
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

  TopicPartitionWriter(
      TopicPartition tp, S3SinkConfig config, Partitioner partitioner, TimestampExtractor extractor,
      RecordFormat format, ObjectStore store, long now) {
    this.tp = tp;
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
    for (Map.Entry<String, OpenObject> e : open.entrySet()) {
      store.put(key(e.getKey(), e.getValue().startOffset), format.object(e.getValue().lines.toByteArray()));
    }
    open.clear();
    recordCount = 0;
    batchStart = -1;
    baseTimestamp = null;
    scheduleNextRotation(now);
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
