package local.devstack.connect.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;
import org.joda.time.DateTimeZone;

/**
 * Settings of the S3 sink. Every key, type, default and accepted value is Confluent's S3 sink's (kafka-connect-s3
 * 10.x), so a user's connector config means the same here; what this sink does not implement is refused by
 * {@link #problems} instead of being silently ignored.
 */
public final class S3SinkConfig extends AbstractConfig {
  public static final String BUCKET = "s3.bucket.name";
  public static final String REGION = "s3.region";
  public static final String ENDPOINT = "store.url";
  public static final String PATH_STYLE = "s3.path.style.access.enabled";
  public static final String ACCESS_KEY = "aws.access.key.id";
  public static final String SECRET_KEY = "aws.secret.access.key";
  public static final String COMPRESSION = "s3.compression.type";
  public static final String COMPRESSION_LEVEL = "s3.compression.level";
  public static final String TOPICS_DIR = "topics.dir";
  public static final String FLUSH_SIZE = "flush.size";
  public static final String ROTATE_INTERVAL = "rotate.interval.ms";
  public static final String ROTATE_SCHEDULE_INTERVAL = "rotate.schedule.interval.ms";
  public static final String NULL_VALUES = "behavior.on.null.values";
  public static final String FORMAT_CLASS = "format.class";
  public static final String STORAGE_CLASS = "storage.class";
  public static final String ZERO_PAD_WIDTH = "filename.offset.zero.pad.width";
  public static final String PARTITIONER = "partitioner.class";
  public static final String PATH_FORMAT = "path.format";
  public static final String PARTITION_DURATION = "partition.duration.ms";
  public static final String LOCALE = "locale";
  public static final String TIMEZONE = "timezone";
  public static final String TIMESTAMP_EXTRACTOR = "timestamp.extractor";
  public static final String TIMESTAMP_FIELD = "timestamp.field";
  public static final String RETRY_BACKOFF = "retry.backoff.ms";
  public static final String S3_RETRY_BACKOFF = "s3.retry.backoff.ms";
  public static final String S3_PART_RETRIES = "s3.part.retries";

  public static final String JSON_FORMAT = "io.confluent.connect.s3.format.json.JsonFormat";
  public static final String S3_STORAGE = "io.confluent.connect.s3.storage.S3Storage";
  private static final String PARTITIONERS = "io.confluent.connect.storage.partitioner.";
  public static final String DEFAULT_PARTITIONER = PARTITIONERS + "DefaultPartitioner";
  public static final String TIME_BASED_PARTITIONER = PARTITIONERS + "TimeBasedPartitioner";
  public static final String HOURLY_PARTITIONER = PARTITIONERS + "HourlyPartitioner";
  public static final String DAILY_PARTITIONER = PARTITIONERS + "DailyPartitioner";

  /** Keys the Connect framework itself reads from a sink connector's config (SinkConnectorConfig). */
  private static final Set<String> FRAMEWORK_KEYS =
      Set.of(
          "name", "task.class", "connector.class", "connector.plugin.version", "tasks.max", "tasks.max.enforce", "topics",
          "topics.regex", "key.converter", "key.converter.plugin.version", "value.converter",
          "value.converter.plugin.version", "header.converter", "header.converter.plugin.version",
          "config.action.reload", "transforms", "predicates", "errors.retry.timeout", "errors.retry.delay.max.ms",
          "errors.tolerance", "errors.log.enable", "errors.log.include.messages",
          "errors.deadletterqueue.topic.name", "errors.deadletterqueue.topic.replication.factor",
          "errors.deadletterqueue.context.headers.enable");

  /** Confluent's S3 sink keys this sink does not implement: refused by name, never silently ignored. */
  private static final Set<String> CONFLUENT_ONLY_KEYS =
      Set.of(
          "s3.part.size", "s3.wan.mode",
          "s3.credentials.provider.class", "s3.ssea.name", "s3.sse.customer.key", "s3.sse.kms.key.id",
          "s3.acl.canned", "s3.object.tagging", "s3.proxy.url", "s3.proxy.user", "s3.proxy.password",
          "s3.http.send.expect.continue", "s3.elastic.buffer.enable", "schema.compatibility",
          "schema.generator.class", "store.kafka.keys", "store.kafka.headers", "keys.format.class",
          "headers.format.class", "partition.field.name", "format.bytearray.extension",
          "format.bytearray.separator", "avro.codec", "parquet.codec", "json.decimal.format",
          "enhanced.avro.schema.support", "connect.meta.data", "directory.delim", "file.delim",
          "shutdown.timeout.ms", "s3.schema.partition.affix.type", "tombstone.encoded.partition");

  private static final List<String> FRAMEWORK_PREFIXES =
      List.of(
          "key.converter.", "value.converter.", "header.converter.", "transforms.", "predicates.",
          "consumer.override.", "producer.override.", "admin.override.");

  private static final ConfigDef.Validator TIMEZONE_ID =
      (name, value) -> {
        String id = (String) value;
        if (id != null && !id.isEmpty()) {
          try {
            DateTimeZone.forID(id);
          } catch (IllegalArgumentException e) {
            throw new ConfigException(name, value, "not a time zone id (e.g. UTC, Europe/Berlin)");
          }
        }
      };

  public static final ConfigDef DEF =
      new ConfigDef()
          .define(BUCKET, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH,
              "Bucket the records are written to.")
          .define(REGION, Type.STRING, "us-west-2", Importance.MEDIUM, "AWS region of the bucket.")
          .define(ENDPOINT, Type.STRING, "", Importance.MEDIUM,
              "S3 endpoint override, e.g. http://127.0.0.1:15000 for moto; empty for AWS.")
          .define(PATH_STYLE, Type.BOOLEAN, true, Importance.LOW, "Path-style bucket addressing.")
          .define(ACCESS_KEY, Type.STRING, "", Importance.MEDIUM,
              "Access key id; empty: the AWS SDK's default credential chain (env vars, profile, ...).")
          .define(SECRET_KEY, Type.PASSWORD, "", Importance.MEDIUM, "Secret access key.")
          .define(COMPRESSION, Type.STRING, "none", ConfigDef.ValidString.in("none", "gzip"), Importance.LOW,
              "Compression of the objects: none, or gzip (the object name then ends in .json.gz).")
          .define(COMPRESSION_LEVEL, Type.INT, -1, ConfigDef.Range.between(-1, 9), Importance.LOW,
              "gzip level, -1 (zlib's default) or 0 to 9.")
          .define(TOPICS_DIR, Type.STRING, "topics", Importance.MEDIUM, "Key prefix of all objects.")
          .define(FLUSH_SIZE, Type.INT, ConfigDef.NO_DEFAULT_VALUE, ConfigDef.Range.atLeast(1), Importance.HIGH,
              "Records per object: an object is written as soon as it holds this many.")
          .define(ROTATE_INTERVAL, Type.LONG, -1L, Importance.HIGH,
              "Time-based partitioners only: an object is written when a record's timestamp (timestamp.extractor) "
                  + "is this many ms past its first record's, or belongs to another time partition; -1: off.")
          .define(ROTATE_SCHEDULE_INTERVAL, Type.LONG, -1L, Importance.MEDIUM,
              "Wall clock: open objects are written at every multiple of this many ms (from midnight in "
                  + "'timezone'), even when no more records arrive; -1: off. Object boundaries then depend on "
                  + "timing: a re-delivery may cut them differently (readers key records by partition and offset).")
          .define(NULL_VALUES, Type.STRING, "fail", ConfigDef.ValidString.in("fail", "ignore"), Importance.LOW,
              "Records with a null value (tombstones): fail the task, or ignore them. (Confluent's 'write' needs "
                  + "store.kafka.keys, which this sink does not implement.)")
          .define(FORMAT_CLASS, Type.STRING, JSON_FORMAT, ConfigDef.ValidString.in(JSON_FORMAT), Importance.LOW,
              "Output format: JSON lines (the only one this sink writes).")
          .define(STORAGE_CLASS, Type.STRING, S3_STORAGE, ConfigDef.ValidString.in(S3_STORAGE), Importance.LOW,
              "Storage: S3.")
          .define(ZERO_PAD_WIDTH, Type.INT, 10, ConfigDef.Range.atLeast(0), Importance.LOW,
              "Digits of the start offset in object names, zero padded.")
          .define(PARTITIONER, Type.STRING, DEFAULT_PARTITIONER,
              ConfigDef.ValidString.in(DEFAULT_PARTITIONER, TIME_BASED_PARTITIONER, HOURLY_PARTITIONER,
                  DAILY_PARTITIONER),
              Importance.HIGH, "How a topic partition's records are spread over folders.")
          .define(PATH_FORMAT, Type.STRING, "", Importance.MEDIUM,
              "TimeBasedPartitioner: the folders as a Joda-Time pattern, e.g. 'dt'=YYYY-MM-dd/'hour'=HH.")
          .define(PARTITION_DURATION, Type.LONG, -1L, Importance.MEDIUM,
              "TimeBasedPartitioner: ms per time partition (a record's timestamp is floored to a multiple).")
          .define(LOCALE, Type.STRING, "", Importance.MEDIUM, "Time-based partitioners: locale of path.format.")
          .define(TIMEZONE, Type.STRING, "", TIMEZONE_ID, Importance.MEDIUM,
              "Time-based partitioners and rotate.schedule.interval.ms: the time zone, e.g. UTC.")
          .define(TIMESTAMP_EXTRACTOR, Type.STRING, "Wallclock",
              ConfigDef.ValidString.in("Wallclock", "Record", "RecordField"), Importance.MEDIUM,
              "Time-based partitioners: a record's time is the worker's clock, the record's Kafka timestamp, or "
                  + "the value's field timestamp.field.")
          .define(TIMESTAMP_FIELD, Type.STRING, "timestamp", Importance.MEDIUM,
              "RecordField: the value's field holding epoch ms or an ISO-8601 time (dots for nesting).")
          .define(RETRY_BACKOFF, Type.LONG, 5000L, ConfigDef.Range.atLeast(0), Importance.LOW,
              "When S3 fails (unreachable, bucket missing), the worker delivers the same records again after this "
                  + "many ms; the task keeps running and goes on by itself once S3 answers.")
          .define(S3_RETRY_BACKOFF, Type.LONG, 200L, ConfigDef.Range.atLeast(0), Importance.LOW,
              "First wait before the AWS SDK retries a failed S3 request; each retry waits up to twice as long.")
          .define(S3_PART_RETRIES, Type.INT, 3, ConfigDef.Range.atLeast(0), Importance.MEDIUM,
              "Retries of a failed S3 request by the AWS SDK before the task backs off (retry.backoff.ms); "
                  + "0: none.");

  public S3SinkConfig(Map<String, String> props) {
    super(DEF, props);
    List<String[]> problems = problems(props);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems.get(0)[0], props.get(problems.get(0)[0]), problems.get(0)[1]);
    }
  }

  /** {key, message} of what ConfigDef cannot express: unknown keys, and the rules between keys. */
  public static List<String[]> problems(Map<String, String> props) {
    List<String[]> problems = new ArrayList<>();
    for (String key : props.keySet()) {
      if (CONFLUENT_ONLY_KEYS.contains(key)) {
        problems.add(new String[] {key, "a key of Confluent's S3 sink that devstack's S3 sink does not implement; "
            + "remove it for devstack"});
      } else if (!DEF.names().contains(key) && !isFrameworkKey(key)) {
        problems.add(new String[] {key, "unknown key for devstack's S3 sink (misspelt, or a setting of another "
            + "connector); its keys are Confluent's S3 sink's"});
      }
    }
    String partitioner = props.getOrDefault(PARTITIONER, DEFAULT_PARTITIONER);
    if (TIME_BASED_PARTITIONER.equals(partitioner)) {
      requireSet(props, PATH_FORMAT, "is required by the TimeBasedPartitioner", problems);
      if (parseLong(props.get(PARTITION_DURATION), -1) <= 0) {
        problems.add(new String[] {PARTITION_DURATION, "must be > 0 with the TimeBasedPartitioner"});
      }
    }
    if (!DEFAULT_PARTITIONER.equals(partitioner)) {
      requireSet(props, LOCALE, "is required by the time-based partitioners", problems);
      requireSet(props, TIMEZONE, "is required by the time-based partitioners", problems);
      if ("RecordField".equals(props.get(TIMESTAMP_EXTRACTOR))) {
        requireSet(props, TIMESTAMP_FIELD, "is required by timestamp.extractor=RecordField", problems);
      }
    }
    if (parseLong(props.get(ROTATE_SCHEDULE_INTERVAL), -1) > 0) {
      requireSet(props, TIMEZONE, "is required by rotate.schedule.interval.ms", problems);
    }
    return problems;
  }

  static boolean isFrameworkKey(String key) {
    return FRAMEWORK_KEYS.contains(key) || FRAMEWORK_PREFIXES.stream().anyMatch(key::startsWith);
  }

  private static void requireSet(Map<String, String> props, String key, String why, List<String[]> problems) {
    String value = props.get(key);
    if (value == null || value.isBlank()) {
      problems.add(new String[] {key, why});
    }
  }

  private static long parseLong(String value, long fallback) {
    try {
      return value == null ? fallback : Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return fallback; // ConfigDef reports the type error on the field itself
    }
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

  public long rotateIntervalMs() {
    return getLong(ROTATE_INTERVAL);
  }

  public long rotateScheduleIntervalMs() {
    return getLong(ROTATE_SCHEDULE_INTERVAL);
  }

  public boolean gzip() {
    return "gzip".equals(getString(COMPRESSION));
  }

  public int compressionLevel() {
    return getInt(COMPRESSION_LEVEL);
  }

  public boolean ignoreNullValues() {
    return "ignore".equals(getString(NULL_VALUES));
  }

  public int zeroPadWidth() {
    return getInt(ZERO_PAD_WIDTH);
  }

  public String partitioner() {
    return getString(PARTITIONER);
  }

  public DateTimeZone timezone() {
    String id = getString(TIMEZONE);
    return id.isEmpty() ? DateTimeZone.UTC : DateTimeZone.forID(id);
  }

  public long retryBackoffMs() {
    return getLong(RETRY_BACKOFF);
  }

  public long s3RetryBackoffMs() {
    return getLong(S3_RETRY_BACKOFF);
  }

  public int s3PartRetries() {
    return getInt(S3_PART_RETRIES);
  }

  public String accessKey() {
    return getString(ACCESS_KEY);
  }

  public String secretKey() {
    Password p = getPassword(SECRET_KEY);
    return p == null ? "" : p.value();
  }
}
