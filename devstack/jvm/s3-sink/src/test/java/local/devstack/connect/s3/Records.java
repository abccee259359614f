package local.devstack.connect.s3;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.sink.SinkRecord;

/** Records {@code {"id": <offset>}} of one topic partition, and the sink's config around them. */
final class Records {
  static final String TOPIC = "cards";
  static final TopicPartition TP = new TopicPartition(TOPIC, 0);
  /** 2026-01-02T03:00:00Z: records are produced before the sink writes them (the re-created topic check). */
  static final long T0 = 1_767_322_800_000L;

  private Records() {}

  static Map<String, String> props(String... overrides) {
    Map<String, String> props = new HashMap<>();
    props.put("s3.bucket.name", "landing");
    props.put("topics.dir", "topics");
    props.put("flush.size", "10");
    props.put("retry.backoff.ms", "1000");
    for (int i = 0; i < overrides.length; i += 2) {
      props.put(overrides[i], overrides[i + 1]);
    }
    return props;
  }

  /** Offsets [from, to), each produced at {@code time.applyAsLong(offset)}. */
  static List<SinkRecord> range(long from, long to, LongUnaryOperator time) {
    List<SinkRecord> records = new ArrayList<>();
    for (long offset = from; offset < to; offset++) {
      byte[] value = ("{\"id\":" + offset + "}").getBytes(StandardCharsets.UTF_8);
      records.add(new SinkRecord(TOPIC, 0, null, null, null, value, offset, time.applyAsLong(offset),
          TimestampType.CREATE_TIME));
    }
    return records;
  }

  static List<SinkRecord> range(long from, long to) {
    return range(from, to, offset -> T0);
  }

  static List<Long> ids(long from, long to) {
    List<Long> ids = new ArrayList<>();
    for (long i = from; i < to; i++) {
      ids.add(i);
    }
    return ids;
  }

  static String key(long start) {
    return String.format("topics/%s/partition=0/%s+0+%010d.json", TOPIC, TOPIC, start);
  }
}
