package local.devstack.connect.s3;

import java.util.Locale;
import org.apache.kafka.connect.sink.SinkRecord;
import org.joda.time.DateTimeZone;
import org.joda.time.format.DateTimeFormat;
import org.joda.time.format.DateTimeFormatter;

/**
 * The folder of a record below {@code <topics.dir>/<topic>/}, as Confluent's partitioners encode it:
 * {@code partition=<p>} (DefaultPartitioner), or its time partition formatted with {@code path.format}
 * (TimeBasedPartitioner; Hourly/Daily are fixed formats and durations of it).
 */
interface Partitioner {
  /** {@code timestamp}: the record's time by the connector's timestamp extractor (null for the default one). */
  String encodePartition(SinkRecord record, Long timestamp);

  /** Whether {@link #encodePartition} needs a timestamp (and rotate.interval.ms applies). */
  boolean isTimeBased();

  static Partitioner of(S3SinkConfig config, Locale locale) {
    String name = config.partitioner();
    if (S3SinkConfig.DEFAULT_PARTITIONER.equals(name)) {
      return new DefaultPartitioner();
    }
    DateTimeZone zone = config.timezone();
    if (S3SinkConfig.HOURLY_PARTITIONER.equals(name)) {
      return new TimeBasedPartitioner("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3_600_000L, locale, zone);
    }
    if (S3SinkConfig.DAILY_PARTITIONER.equals(name)) {
      return new TimeBasedPartitioner("'year'=YYYY/'month'=MM/'day'=dd", 86_400_000L, locale, zone);
    }
    return new TimeBasedPartitioner(
        config.getString(S3SinkConfig.PATH_FORMAT), config.getLong(S3SinkConfig.PARTITION_DURATION), locale, zone);
  }

  final class DefaultPartitioner implements Partitioner {
    @Override
    public String encodePartition(SinkRecord record, Long timestamp) {
      return "partition=" + record.kafkaPartition();
    }

    @Override
    public boolean isTimeBased() {
      return false;
    }
  }

  final class TimeBasedPartitioner implements Partitioner {
    private final long durationMs;
    private final DateTimeZone zone;
    private final DateTimeFormatter formatter;

    TimeBasedPartitioner(String pathFormat, long durationMs, Locale locale, DateTimeZone zone) {
      this.durationMs = durationMs;
      this.zone = zone;
      this.formatter = DateTimeFormat.forPattern(pathFormat).withZone(zone).withLocale(locale);
    }

    @Override
    public String encodePartition(SinkRecord record, Long timestamp) {
      return formatter.print(partitionStart(timestamp));
    }

    /** The timestamp floored to a multiple of partition.duration.ms in local time (Confluent's getPartition). */
    long partitionStart(long timestamp) {
      long local = zone.convertUTCToLocal(timestamp);
      return zone.convertLocalToUTC(Math.floorDiv(local, durationMs) * durationMs, false);
    }

    @Override
    public boolean isTimeBased() {
      return true;
    }
  }
}
