package local.devstack.connect.s3;

import java.net.URI;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * One {@link TopicPartitionWriter} per assigned topic partition. Offsets are committed (preCommit) only up to the
 * first record that is not yet in S3, so after a crash the worker re-delivers from an object boundary and the
 * re-written objects carry the same names. With rotate.schedule.interval.ms the task asks the worker to poll
 * again by the next scheduled rotation (context.timeout), so the last records land even when no more arrive.
 * Opening a partition reads back, from the last object's metadata, up to which offset S3 already holds the
 * partition, so a re-delivery never writes a record twice even where wall-clock rotation would cut it elsewhere.
 */
public class S3SinkTask extends SinkTask {
  private static final Logger log = LoggerFactory.getLogger(S3SinkTask.class);
  private static final long MIN_POLL_MS = 50;

  private S3SinkConfig config;
  private S3Client s3;
  private Partitioner partitioner;
  private TimestampExtractor extractor;
  private RecordFormat format;
  private final Map<TopicPartition, TopicPartitionWriter> writers = new HashMap<>();

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
    s3 = s3Client(config);
    log.info("S3 sink writing to bucket {} under {}/ ({})", config.bucket(), config.topicsDir(),
        config.partitioner());
  }

  private static S3Client s3Client(S3SinkConfig config) {
    S3ClientBuilder builder =
        S3Client.builder()
            .httpClient(UrlConnectionHttpClient.create())
            .region(Region.of(config.region()))
            .forcePathStyle(config.pathStyle())
            // S3 emulators need neither trailing checksums nor chunked uploads
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    if (!config.endpoint().isEmpty()) {
      builder.endpointOverride(URI.create(config.endpoint()));
    }
    if (!config.accessKey().isEmpty()) {
      builder.credentialsProvider(
          StaticCredentialsProvider.create(AwsBasicCredentials.create(config.accessKey(), config.secretKey())));
    } else {
      builder.credentialsProvider(DefaultCredentialsProvider.builder().build());
    }
    return builder.build();
  }

  @Override
  public void open(Collection<TopicPartition> partitions) {
    long now = System.currentTimeMillis();
    for (TopicPartition tp : partitions) {
      if (!writers.containsKey(tp)) {
        writers.put(tp, new TopicPartitionWriter(tp, config, partitioner, extractor, format, this::putObject, now,
            durable(tp)));
      }
    }
  }

  /** Up to which offset S3 holds {@code tp} whole: the end of the last batch all of whose objects are there. */
  private TopicPartitionWriter.Durable durable(TopicPartition tp) {
    String marker = "/" + tp.topic() + "+" + tp.partition() + "+";
    NavigableMap<Long, String> byStart = new TreeMap<>();
    try {
      for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(config.bucket()).prefix(config.topicsDir() + "/"
          + tp.topic() + "/")).contents()) {
        int at = o.key().lastIndexOf(marker);
        int dot = o.key().indexOf('.', at + marker.length());
        if (at >= 0 && dot > at) {
          byStart.put(Long.parseLong(o.key().substring(at + marker.length(), dot)), o.key());
        }
      }
      if (byStart.isEmpty()) {
        return TopicPartitionWriter.Durable.NONE;
      }
      Map<String, String> meta = s3.headObject(b -> b.bucket(config.bucket()).key(byStart.lastEntry().getValue()))
          .metadata();
      if (!meta.containsKey(TopicPartitionWriter.BATCH_END)) {
        return TopicPartitionWriter.Durable.NONE; // written by an earlier version: re-delivery rewrites by name
      }
      long start = Long.parseLong(meta.get(TopicPartitionWriter.BATCH_START));
      long end = Long.parseLong(meta.get(TopicPartitionWriter.BATCH_END));
      int objects = Integer.parseInt(meta.get(TopicPartitionWriter.BATCH_OBJECTS));
      long writtenAt = Long.parseLong(meta.get(TopicPartitionWriter.WRITTEN_AT));
      boolean whole = byStart.subMap(start, true, end, false).size() >= objects;
      log.info("{}: S3 holds offsets below {} (last batch {}..{}{})", tp, whole ? end : start, start, end,
          whole ? "" : ", not all of its objects: it is written again");
      return new TopicPartitionWriter.Durable(whole ? end : start, writtenAt);
    } catch (SdkException | NumberFormatException e) {
      throw new RetriableException("reading back what s3://" + config.bucket() + " holds of " + tp + " failed: "
          + e.getMessage(), e);
    }
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    long now = System.currentTimeMillis();
    for (SinkRecord record : records) {
      TopicPartition tp = new TopicPartition(record.topic(), record.kafkaPartition());
      writers
          .computeIfAbsent(tp, k -> new TopicPartitionWriter(k, config, partitioner, extractor, format,
              this::putObject, now, durable(k)))
          .write(record, now);
    }
    tickAll(System.currentTimeMillis());
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

  private void putObject(String key, byte[] body, Map<String, String> metadata) {
    try {
      s3.putObject(
          PutObjectRequest.builder()
              .bucket(config.bucket())
              .key(key)
              .contentType(config.gzip() ? "application/gzip" : "application/json")
              .metadata(metadata)
              .build(),
          RequestBody.fromBytes(body));
    } catch (SdkException e) {
      // the records stay in memory and uncommitted: the next put or offset commit retries the whole rotation
      throw new RetriableException("writing s3://" + config.bucket() + "/" + key + " failed: " + e.getMessage(), e);
    }
    log.info("wrote s3://{}/{} ({} bytes)", config.bucket(), key, body.length);
  }

  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    try {
      tickAll(System.currentTimeMillis());
    } catch (RetriableException e) {
      log.warn("scheduled rotation failed, retried later: {}", e.getMessage());
    }
    Map<TopicPartition, OffsetAndMetadata> safe = new HashMap<>();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : currentOffsets.entrySet()) {
      TopicPartitionWriter writer = writers.get(e.getKey());
      long consumed = e.getValue().offset();
      safe.put(e.getKey(), new OffsetAndMetadata(writer == null ? consumed : writer.offsetToCommit(consumed)));
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
    if (s3 != null) {
      try {
        s3.close();
      } catch (RuntimeException e) {
        throw new ConnectException(e);
      }
    }
  }
}
