package local.devstack.connect.s3;

import static local.devstack.connect.s3.Records.props;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/** The retry keys are Confluent's, with Confluent's defaults, and refuse what Confluent's refuse. */
class S3SinkConfigTest {
  @Test
  void retryKeysHaveConfluentsDefaults() {
    S3SinkConfig config = new S3SinkConfig(props());
    assertEquals(1000, config.retryBackoffMs()); // Records.props sets it; Confluent's default is below
    assertEquals(5000L, S3SinkConfig.DEF.defaultValues().get(S3SinkConfig.RETRY_BACKOFF));
    assertEquals(200, config.s3RetryBackoffMs());
    assertEquals(3, config.s3PartRetries());
    assertTrue(S3SinkConfig.problems(props("s3.part.retries", "5", "s3.retry.backoff.ms", "50")).isEmpty());
  }

  @Test
  void negativeRetriesOrBackoffsAreRefused() {
    assertThrows(ConfigException.class, () -> new S3SinkConfig(props("s3.part.retries", "-1")));
    assertThrows(ConfigException.class, () -> new S3SinkConfig(props("s3.retry.backoff.ms", "-1")));
    assertThrows(ConfigException.class, () -> new S3SinkConfig(props("retry.backoff.ms", "-1")));
  }

  @Test
  void theS3ClientIsBuiltWithTheRetryStrategyWithoutCallingS3() {
    new S3Storage(new S3SinkConfig(props("store.url", "http://127.0.0.1:9", "aws.access.key.id", "k",
        "aws.secret.access.key", "s"))).close();
  }
}
