package local.devstack.connect.s3;

import java.net.URI;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
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

/**
 * One {@link TopicPartitionWriter} per assigned topic partition. Offsets are committed (preCommit) only up to the
 * first record that is not yet in S3, so after a crash the worker re-delivers from an object boundary and the
 * re-written objects carry the same names. With rotate.schedule.interval.ms the task asks the worker to poll
 * again by the next scheduled rotation (context.timeout), so the last records land even when no more arrive.
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
      writers.computeIfAbsent(tp, k -> new TopicPartitionWriter(k, config, partitioner, extractor, format,
          this::putObject, now));
    }
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    long now = System.currentTimeMillis();
    for (SinkRecord record : records) {
      TopicPartition tp = new TopicPartition(record.topic(), record.kafkaPartition());
      writers
          .computeIfAbsent(tp, k -> new TopicPartitionWriter(k, config, partitioner, extractor, format,
              this::putObject, now))
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

  private void putObject(String key, byte[] body) {
    try {
      s3.putObject(
          PutObjectRequest.builder()
              .bucket(config.bucket())
              .key(key)
              .contentType(config.gzip() ? "application/gzip" : "application/json")
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
