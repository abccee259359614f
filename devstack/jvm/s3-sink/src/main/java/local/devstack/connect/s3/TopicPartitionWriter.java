package local.devstack.connect.s3;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.joda.time.DateTime;
import org.joda.time.DateTimeZone;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open objects of one topic partition, rotated as Confluent's TopicPartitionWriter rotates them: all open
 * objects are written together when they hold flush.size records, when a record's time is rotate.interval.ms past
 * the batch's first record or falls in another time partition (time-based partitioners), or at the next
 * rotate.schedule.interval.ms boundary of the wall clock. Each object is named by the offset of its first record.
 * Only offsets below the first record still in memory are committed.
 *
 * <p>Exactly once in the lake, whatever cut the batches: what S3 holds is read back ({@link Lake}) when the first
 * record arrives, and a record is skipped when its offset lies in a batch S3 holds whole. Everything else is written,
 * so a rewind rewrites exactly the batches the lake lost; the open batch is written before a held one, so batches
 * never overlap. A batch S3 holds only part of is written again whole: its objects left are deleted first (when the
 * records start inside it, the task rewinds the partition to its start).
 *
 * <p>A record newer than the batch at its offset means newer records took the offsets from there on (a re-created
 * topic, a broker that lost the end of its log): those batches are superseded, the records are written, and the old
 * objects are deleted once the new batches cover them (a crash in between leaves them for the next start, which
 * reads overlapping batches back and keeps the newer). When the record lies inside the batch, the partition is
 * rewound to the batch's start, and the rewrite is not cut before the record: the object written again under the
 * batch's name always holds the batch's records before it.
 *
 * <p>S3 failing throws a RetriableException out of {@link #write} or {@link #tick} and leaves the writer as it was
 * before the failed call, with the records it took still in memory: the worker delivers the same records again,
 * and those already taken are recognised by offset.
 */
final class TopicPartitionWriter {
  private static final Logger log = LoggerFactory.getLogger(TopicPartitionWriter.class);

  /** The task's answer to "rewind this partition to that offset" (SinkTaskContext.offset). */
  interface Rewinder {
    void rewind(TopicPartition tp, long offset);
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
  private final Storage storage;
  private final Rewinder rewinder;
  private final Map<String, OpenObject> open = new LinkedHashMap<>();
  private Lake lake; // null until the first record: what S3 holds is read then (S3 may be down at open)
  private int recordCount;
  private long batchStart = -1; // offset of the first record not yet in S3, -1: none
  private long nextOffset = -1; // offset after the last record taken or skipped, -1: none yet
  private long firstOffset = -1; // the first record's offset since the lake was read or the partition rewound
  private long rewoundTo = -1; // a rewind asked of the worker: records until then are stale, -1: none
  private long keepUntil = -1; // no rotation by size or time before the open batch reaches this offset, -1: none
  private Long baseTimestamp;
  private String currentPartition;
  private long nextScheduledRotation;

  TopicPartitionWriter(
      TopicPartition tp, S3SinkConfig config, Partitioner partitioner, TimestampExtractor extractor,
      RecordFormat format, Storage storage, Rewinder rewinder, long now) {
    this.tp = tp;
    this.config = config;
    this.partitioner = partitioner;
    this.extractor = partitioner.isTimeBased() ? extractor : null;
    this.format = format;
    this.storage = storage;
    this.rewinder = rewinder;
    scheduleNextRotation(now);
  }

  void write(SinkRecord record, long now) {
    long offset = record.kafkaOffset();
    if (rewoundTo >= 0 || (nextOffset >= 0 && offset < nextOffset)) {
      return; // before the worker's rewind, or delivered again after a retriable failure: already taken
    }
    if (lake == null || offset < lake.from()) {
      lake = LakeReader.read(storage, config.topicsDir(), tp, offset);
      firstOffset = -1;
      log.info("{}: S3 holds {}", tp, lake.summary());
      lake.deleteSuperseded(storage, tp); // left by a crash between a rewrite and its deletions
    }
    if (firstOffset < 0) {
      firstOffset = offset;
    }
    Lake.Batch held = lake.at(offset);
    if (held != null && !held.whole()) {
      if (!rewriteWhole(held)) {
        return;
      }
      held = lake.at(offset);
    }
    if (held != null && held.whole()) {
      if (record.timestamp() == null || record.timestamp() <= held.writtenAt()) {
        if (recordCount > 0) {
          commit(now); // the open batch ends where S3's begins
        }
        nextOffset = offset + 1;
        return;
      }
      log.info("{}: record {} is newer than S3's batch {}: newer records took its offsets (a re-created topic, or "
          + "a broker that lost the end of its log); they are written and the batches from there on superseded", tp,
          offset, held);
      lake.supersedeFrom(held.start());
      if (held.start() < offset) { // its records before this one are written again with it, under its name
        rewind(batchStart >= 0 ? Math.min(batchStart, held.start()) : held.start(), offset);
        return;
      }
    }
    take(record, now);
  }

  /** A partial batch: deletes what is left of it when this writer's records cover it from its start (true). */
  private boolean rewriteWhole(Lake.Batch partial) {
    if (firstOffset > partial.start()) {
      log.warn("{}: S3 holds only {} of batch {}, and the records start inside it at {}: rewinding to {} to write "
          + "it again whole", tp, partial.keys().size(), partial, firstOffset, partial.start());
      rewind(partial.start(), -1);
      return false;
    }
    log.warn("{}: S3 holds only {} of batch {}: deleting them, the batch is written again", tp, partial.keys().size(),
        partial);
    for (String key : partial.keys()) {
      storage.delete(key);
    }
    lake.remove(partial);
    return true;
  }

  /** Drops what is in memory and asks the worker for the records from {@code to} again. */
  private void rewind(long to, long keep) {
    open.clear();
    recordCount = 0;
    batchStart = -1;
    baseTimestamp = null;
    nextOffset = -1;
    firstOffset = -1;
    rewoundTo = to;
    keepUntil = keep;
    rewinder.rewind(tp, to);
  }

  /** The worker has rewound as asked: the records from now on are the rewound ones. */
  void rewound() {
    rewoundTo = -1;
  }

  private void take(SinkRecord record, long now) {
    if (record.value() == null && !config.ignoreNullValues()) {
      throw new ConnectException(TimestampExtractor.where(record)
          + " has a null value (a tombstone) and behavior.on.null.values=fail; set it to ignore to skip them");
    }
    if (record.value() == null) {
      if (recordCount >= config.flushSize() && mayRotate()) {
        commit(now); // a rotation whose upload failed before: retried first
      }
      nextOffset = record.kafkaOffset() + 1;
      return;
    }
    Long timestamp = extractor == null ? null : extractor.extract(record, now);
    String encoded = partitioner.encodePartition(record, timestamp);
    if ((recordCount >= config.flushSize() || rotateOnTime(encoded, timestamp, now)) && mayRotate()) {
      commit(now); // throws before this record is taken: its delivery again takes it
    }
    if (batchStart < 0) {
      batchStart = record.kafkaOffset();
    }
    nextOffset = record.kafkaOffset() + 1;
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
    if (recordCount >= config.flushSize() && mayRotate()) {
      commit(now);
    }
  }

  /** Scheduled rotation when no record arrives (called after every put and before every offset commit). */
  void tick(long now) {
    if (recordCount > 0 && scheduledRotationDue(now) && mayRotate()) {
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

  /**
   * What may be committed of {@code consumed}: nothing before S3 was read (-1), the offset a rewind was asked for,
   * the first record not yet in S3, or else all that was consumed; never past a superseded batch that newer ones
   * overlap, so a restart reads it back and deletes it once they cover it.
   */
  long offsetToCommit(long consumed) {
    if (lake == null) {
      return -1;
    }
    long offset = rewoundTo >= 0 ? rewoundTo : batchStart >= 0 ? batchStart : consumed;
    return Math.min(offset, lake.supersededFrom());
  }

  /** Not while a rewrite is short of the offset it must reach (see {@link #keepUntil}). */
  private boolean mayRotate() {
    return keepUntil < 0 || nextOffset >= keepUntil;
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

  /** Writes every open object (all or, on a failure, none as far as this writer's state goes). */
  private void commit(long now) {
    if (!open.isEmpty()) {
      Lake.Batch batch = batch(now);
      Map<String, String> metadata = batch.metadata();
      for (Map.Entry<String, OpenObject> e : open.entrySet()) {
        storage.put(key(e.getKey(), e.getValue().startOffset), format.object(e.getValue().lines.toByteArray()),
            metadata);
      }
      lake.written(batch);
      log.info("{}: wrote batch {}", tp, batch);
    }
    open.clear();
    recordCount = 0;
    batchStart = -1;
    baseTimestamp = null;
    scheduleNextRotation(now);
    lake.deleteSuperseded(storage, tp);
  }

  private Lake.Batch batch(long now) {
    long start = Long.MAX_VALUE;
    long end = -1;
    List<String> keys = new ArrayList<>();
    for (Map.Entry<String, OpenObject> e : open.entrySet()) {
      start = Math.min(start, e.getValue().startOffset);
      end = Math.max(end, e.getValue().lastOffset + 1);
      keys.add(key(e.getKey(), e.getValue().startOffset));
    }
    return new Lake.Batch(start, end, open.size(), now, List.copyOf(keys));
  }

  String key(String encodedPartition, long startOffset) {
    return ObjectNames.of(config.topicsDir(), tp, encodedPartition, startOffset, config.zeroPadWidth(),
        format.extension());
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
