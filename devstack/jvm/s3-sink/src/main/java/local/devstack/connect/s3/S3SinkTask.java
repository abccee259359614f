package local.devstack.connect.s3;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.json.JsonConverter;
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
 * Buffers record values per topic partition and writes them as one JSON document per line to
 * {@code {topics.dir}/{topic}/partition={p}/{topic}+{p}+{first offset, 10 digits}.json}, when a buffer holds
 * {@code flush.size} records and at every offset commit. Values that are byte arrays (from
 * {@link SchemaRegistryJsonConverter} or ByteArrayConverter) are written exactly as they are; maps, lists and
 * primitives (from JsonConverter with schemas.enable=false) are re-serialized as JSON. Null values (tombstones)
 * are skipped.
 */
public class S3SinkTask extends SinkTask {
  private static final Logger log = LoggerFactory.getLogger(S3SinkTask.class);

  private S3SinkConfig config;
  private S3Client s3;
  private final JsonConverter json = new JsonConverter();
  private final Map<TopicPartition, Buffer> buffers = new HashMap<>();

  private static final class Buffer {
    long firstOffset = -1;
    int count;
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  }

  @Override
  public String version() {
    return S3SinkConnector.VERSION;
  }

  @Override
  public void start(Map<String, String> props) {
    config = new S3SinkConfig(props);
    json.configure(Map.of("schemas.enable", "false", "converter.type", "value"));
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
    s3 = builder.build();
    log.info("S3 sink writing to bucket {} under {}/", config.bucket(), config.topicsDir());
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    for (SinkRecord record : records) {
      if (record.value() == null) {
        continue;
      }
      TopicPartition tp = new TopicPartition(record.topic(), record.kafkaPartition());
      Buffer buf = buffers.computeIfAbsent(tp, k -> new Buffer());
      if (buf.count == 0) {
        buf.firstOffset = record.kafkaOffset();
      }
      byte[] line = toJson(record);
      buf.bytes.write(line, 0, line.length);
      buf.bytes.write('\n');
      buf.count++;
      if (buf.count >= config.flushSize()) {
        write(tp, buf);
      }
    }
  }

  private byte[] toJson(SinkRecord record) {
    Object value = record.value();
    byte[] out;
    if (value instanceof byte[]) {
      out = (byte[]) value;
    } else if (value instanceof String) {
      out = ((String) value).getBytes(StandardCharsets.UTF_8);
    } else {
      out = json.fromConnectData(record.topic(), record.valueSchema(), value);
    }
    int end = out.length;
    while (end > 0 && (out[end - 1] == '\n' || out[end - 1] == '\r')) {
      end--;
    }
    if (end == out.length) {
      return out;
    }
    byte[] trimmed = new byte[end];
    System.arraycopy(out, 0, trimmed, 0, end);
    return trimmed;
  }

  private void write(TopicPartition tp, Buffer buf) {
    if (buf.count == 0) {
      return;
    }
    String key =
        String.format(
            "%s/%s/partition=%d/%s+%d+%010d.json",
            config.topicsDir(), tp.topic(), tp.partition(), tp.topic(), tp.partition(), buf.firstOffset);
    try {
      s3.putObject(
          PutObjectRequest.builder().bucket(config.bucket()).key(key).contentType("application/json").build(),
          RequestBody.fromBytes(buf.bytes.toByteArray()));
    } catch (SdkException e) {
      // the records stay buffered and uncommitted: Connect calls put/flush again after a backoff
      throw new RetriableException("writing s3://" + config.bucket() + "/" + key + " failed: " + e.getMessage(), e);
    }
    log.info("wrote {} records to s3://{}/{}", buf.count, config.bucket(), key);
    buf.bytes.reset();
    buf.count = 0;
    buf.firstOffset = -1;
  }

  @Override
  public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    for (Map.Entry<TopicPartition, Buffer> e : buffers.entrySet()) {
      write(e.getKey(), e.getValue());
    }
  }

  @Override
  public void close(Collection<TopicPartition> partitions) {
    // unwritten records of revoked partitions are dropped; their offsets were not committed, so they are re-read
    for (TopicPartition tp : partitions) {
      buffers.remove(tp);
    }
  }

  @Override
  public void stop() {
    buffers.clear();
    if (s3 != null) {
      try {
        s3.close();
      } catch (RuntimeException e) {
        throw new ConnectException(e);
      }
    }
  }
}
