package local.devstack.connect.s3;

import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link TopicPartitionWriter} per assigned topic partition. Offsets are committed (preCommit) only up to the
 * first record that is not yet in S3, so after a crash the worker re-delivers from an object boundary, and each
 * writer reads back what S3 holds before it writes, so nothing S3 holds whole is written twice. With
 * rotate.schedule.interval.ms the task asks the worker to poll again by the next scheduled rotation
 * (context.timeout), so the last records land even when no more arrive.
 *
 * <p>S3 down or its bucket missing never kills the task: open() and close() do not call S3 at all (Connect kills a
 * task whose open() throws), the read-back waits for the first records, and a failing put() throws a
 * RetriableException after asking the worker to deliver the same records again in retry.backoff.ms. Once S3
 * answers, the task goes on by itself.
 */
public class S3SinkTask extends SinkTask {
  private static final Logger log = LoggerFactory.getLogger(S3SinkTask.class);
  private static final long MIN_POLL_MS = 50;

  private final Map<TopicPartition, TopicPartitionWriter> writers = new HashMap<>();
  private final LongSupplier clock;
  private S3SinkConfig config;
  private Storage storage;
  private Partitioner partitioner;
  private TimestampExtractor extractor;
  private RecordFormat format;
  private boolean redelivery; // the last put failed: the worker delivers its records again

  /** Connect's constructor: S3 through the AWS SDK, the system clock. */
  public S3SinkTask() {
    this.clock = System::currentTimeMillis;
  }

  /** For tests: {@code storage} instead of S3, {@code clock} instead of the system's; start() is called here. */
  S3SinkTask(Map<String, String> props, SinkTaskContext context, Storage storage, LongSupplier clock) {
    this.clock = clock;
    this.storage = storage;
    initialize(context);
    start(props);
  }

  @Override
  public String version() {
    return S3SinkConnector.VERSION;
  }

  @Override
  public void start(Map<String, String> props) {
    config = new S3SinkConfig(props);
    String locale = config.getString(S3SinkConfig.LOCALE);
    partitioner = Partitioner.of(config, locale.isEmpty() ? Locale.ROOT : Locale.forLanguageTag(locale));
    extractor =
        TimestampExtractor.of(
            config.getString(S3SinkConfig.TIMESTAMP_EXTRACTOR), config.getString(S3SinkConfig.TIMESTAMP_FIELD));
    format = new RecordFormat(config.gzip(), config.compressionLevel());
    if (storage == null) {
      storage = new S3Storage(config);
    }
    log.info("S3 sink writing to bucket {} under {}/ ({})", config.bucket(), config.topicsDir(),
        config.partitioner());
  }

  @Override
  public void open(Collection<TopicPartition> partitions) {
    long now = clock.getAsLong();
    for (TopicPartition tp : partitions) {
      writers.computeIfAbsent(tp, k -> newWriter(k, now));
    }
  }

  private TopicPartitionWriter newWriter(TopicPartition tp, long now) {
    return new TopicPartitionWriter(tp, config, partitioner, extractor, format, storage, context::offset, now);
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    if (!redelivery) {
      writers.values().forEach(TopicPartitionWriter::rewound); // a rewind asked for took effect before this poll
    }
    long now = clock.getAsLong();
    try {
      for (SinkRecord record : records) {
        TopicPartition tp = new TopicPartition(record.topic(), record.kafkaPartition());
        writers.computeIfAbsent(tp, k -> newWriter(k, now)).write(record, now);
      }
      tickAll(clock.getAsLong());
      redelivery = false;
    } catch (RetriableException e) {
      redelivery = true;
      log.warn("{}; the records come again in {} ms", e.getMessage(), config.retryBackoffMs());
      context.timeout(config.retryBackoffMs());
      throw e;
    }
  }

  private void tickAll(long now) {
    long wait = -1;
    for (TopicPartitionWriter writer : writers.values()) {
      writer.tick(now);
      long due = writer.msUntilScheduledRotation(now);
      if (due >= 0 && (wait < 0 || due < wait)) {
        wait = due;
      }
    }
    if (wait >= 0) {
      context.timeout(Math.max(MIN_POLL_MS, wait)); // the worker's next poll returns by then, records or not
    }
  }

  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    try {
      tickAll(clock.getAsLong());
    } catch (RetriableException e) {
      log.warn("scheduled rotation failed, retried later: {}", e.getMessage());
    }
    Map<TopicPartition, OffsetAndMetadata> safe = new HashMap<>();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : currentOffsets.entrySet()) {
      TopicPartitionWriter writer = writers.get(e.getKey());
      long consumed = e.getValue().offset();
      long offset = writer == null ? consumed : writer.offsetToCommit(consumed);
      if (offset >= 0) { // -1: S3 not read back yet, nothing new is known to be there
        safe.put(e.getKey(), new OffsetAndMetadata(offset));
      }
    }
    return safe;
  }

  @Override
  public void close(Collection<TopicPartition> partitions) {
    // what revoked partitions held is dropped: their offsets were not committed past it, so it is re-read
    for (TopicPartition tp : partitions) {
      writers.remove(tp);
    }
  }

  @Override
  public void stop() {
    writers.clear();
    if (storage != null) {
      try {
        storage.close();
      } catch (RuntimeException e) {
        throw new ConnectException(e);
      }
    }
  }
}
