package local.devstack.connect.s3;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.connect.errors.RetriableException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link Storage} on S3 through the AWS SDK v2 (endpoint override and path-style access for emulators). The SDK
 * retries each request s3.part.retries times with exponential backoff from s3.retry.backoff.ms, as Confluent's sink
 * configures it; what still fails becomes a RetriableException.
 */
final class S3Storage implements Storage {
  /** Confluent's cap on one backoff of the SDK's retries is a day; a task's own backoff takes over long before. */
  private static final Duration MAX_SDK_BACKOFF = Duration.ofSeconds(20);

  private final S3Client s3;
  private final String bucket;
  private final String where;
  private final String contentType;

  S3Storage(S3SinkConfig config) {
    this.s3 = client(config);
    this.bucket = config.bucket();
    this.where = config.endpoint().isEmpty() ? "" : " at " + config.endpoint();
    this.contentType = config.gzip() ? "application/gzip" : "application/json";
  }

  private static S3Client client(S3SinkConfig config) {
    S3ClientBuilder builder =
        S3Client.builder()
            .httpClient(UrlConnectionHttpClient.create())
            .region(Region.of(config.region()))
            .forcePathStyle(config.pathStyle())
            // S3 emulators need neither trailing checksums nor chunked uploads
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
            .overrideConfiguration(o -> o.retryStrategy(retryStrategy(config)));
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

  private static StandardRetryStrategy retryStrategy(S3SinkConfig config) {
    BackoffStrategy backoff =
        BackoffStrategy.exponentialDelay(Duration.ofMillis(Math.max(1, config.s3RetryBackoffMs())), MAX_SDK_BACKOFF);
    return StandardRetryStrategy.builder()
        .maxAttempts(config.s3PartRetries() + 1)
        .backoffStrategy(backoff)
        .throttlingBackoffStrategy(backoff)
        // the SDK's token bucket would stop retrying during a long outage: the task's backoff paces that instead
        .circuitBreakerEnabled(false)
        .build();
  }

  @Override
  public List<String> list(String prefix) {
    return call("listing s3://" + bucket + "/" + prefix, () -> {
      List<String> keys = new ArrayList<>();
      for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
        keys.add(o.key());
      }
      return keys;
    });
  }

  @Override
  public Map<String, String> metadata(String key) {
    return call("reading the metadata of s3://" + bucket + "/" + key, () -> {
      try {
        return s3.headObject(b -> b.bucket(bucket).key(key)).metadata();
      } catch (NoSuchKeyException e) {
        return null;
      }
    });
  }

  @Override
  public void put(String key, byte[] body, Map<String, String> metadata) {
    PutObjectRequest request =
        PutObjectRequest.builder().bucket(bucket).key(key).contentType(contentType).metadata(metadata).build();
    call("writing s3://" + bucket + "/" + key, () -> s3.putObject(request, RequestBody.fromBytes(body)));
  }

  @Override
  public void delete(String key) {
    call("deleting s3://" + bucket + "/" + key, () -> s3.deleteObject(b -> b.bucket(bucket).key(key)));
  }

  private <T> T call(String what, Supplier<T> request) {
    try {
      return request.get();
    } catch (SdkException e) {
      throw new RetriableException(what + where + " failed: " + firstLine(e.getMessage()), e);
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "(no message)";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  @Override
  public void close() {
    s3.close();
  }
}
