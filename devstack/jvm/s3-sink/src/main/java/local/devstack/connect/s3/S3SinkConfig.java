package local.devstack.connect.s3;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.types.Password;

/** Settings of the S3 sink; names follow Confluent's S3 sink where it has one, so the seed's config carries over. */
public final class S3SinkConfig extends AbstractConfig {
  public static final String BUCKET = "s3.bucket.name";
  public static final String REGION = "s3.region";
  public static final String ENDPOINT = "store.url";
  public static final String PATH_STYLE = "s3.path.style.access.enabled";
  public static final String TOPICS_DIR = "topics.dir";
  public static final String FLUSH_SIZE = "flush.size";
  public static final String ACCESS_KEY = "aws.access.key.id";
  public static final String SECRET_KEY = "aws.secret.access.key";

  public static final ConfigDef DEF =
      new ConfigDef()
          .define(BUCKET, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH,
              "Bucket the records are written to.")
          .define(REGION, Type.STRING, "us-east-1", Importance.MEDIUM, "AWS region of the bucket.")
          .define(ENDPOINT, Type.STRING, "", Importance.MEDIUM,
              "S3 endpoint override, e.g. http://127.0.0.1:15000 for moto; empty for AWS.")
          .define(PATH_STYLE, Type.BOOLEAN, true, Importance.LOW, "Path-style bucket addressing.")
          .define(TOPICS_DIR, Type.STRING, "topics", Importance.MEDIUM, "Key prefix of all objects.")
          .define(FLUSH_SIZE, Type.INT, 1000, ConfigDef.Range.atLeast(1), Importance.MEDIUM,
              "Records per object at most; whatever is buffered is also written at each offset commit.")
          .define(ACCESS_KEY, Type.STRING, "", Importance.MEDIUM,
              "Access key id; empty: the AWS SDK's default credential chain (env vars, profile, ...).")
          .define(SECRET_KEY, Type.PASSWORD, "", Importance.MEDIUM, "Secret access key.");

  public S3SinkConfig(Map<String, String> props) {
    super(DEF, props);
  }

  public String bucket() {
    return getString(BUCKET);
  }

  public String region() {
    return getString(REGION);
  }

  public String endpoint() {
    return getString(ENDPOINT);
  }

  public boolean pathStyle() {
    return getBoolean(PATH_STYLE);
  }

  public String topicsDir() {
    String dir = getString(TOPICS_DIR);
    while (dir.endsWith("/")) {
      dir = dir.substring(0, dir.length() - 1);
    }
    return dir;
  }

  public int flushSize() {
    return getInt(FLUSH_SIZE);
  }

  public String accessKey() {
    return getString(ACCESS_KEY);
  }

  public String secretKey() {
    Password p = getPassword(SECRET_KEY);
    return p == null ? "" : p.value();
  }
}
