package local.devstack.connect.s3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.Map;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.joda.time.format.ISODateTimeFormat;

/** A record's time for the time-based partitioners and rotate.interval.ms, as Confluent's extractors define it. */
interface TimestampExtractor {
  long extract(SinkRecord record, long now);

  static TimestampExtractor of(String name, String field) {
    switch (name) {
      case "Record":
        return (record, now) -> {
          if (record.timestamp() == null) {
            throw new DataException(where(record) + " has no timestamp (timestamp.extractor=Record)");
          }
          return record.timestamp();
        };
      case "RecordField":
        return new FieldExtractor(field);
      default:
        return (record, now) -> now;
    }
  }

  static String where(SinkRecord record) {
    return "record " + record.topic() + "/" + record.kafkaPartition() + "@" + record.kafkaOffset();
  }

  /** The value's {@code timestamp.field} (dots for nesting): epoch ms, a java.util.Date or an ISO-8601 string. */
  final class FieldExtractor implements TimestampExtractor {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final String[] path;
    private final String field;

    FieldExtractor(String field) {
      this.field = field;
      this.path = field.split("\\.");
    }

    @Override
    public long extract(SinkRecord record, long now) {
      Object value = record.value();
      if (value instanceof byte[] || value instanceof String) {
        return fromJson(record, value);
      }
      for (String name : path) {
        if (value instanceof Struct) {
          value = ((Struct) value).get(name);
        } else if (value instanceof Map) {
          value = ((Map<?, ?>) value).get(name);
        } else {
          value = null;
        }
      }
      return toMillis(record, value);
    }

    private long fromJson(SinkRecord record, Object value) {
      byte[] bytes = value instanceof byte[] ? (byte[]) value : ((String) value).getBytes(StandardCharsets.UTF_8);
      JsonNode node;
      try {
        node = MAPPER.readTree(bytes);
      } catch (IOException e) {
        throw new DataException(where(record) + ": value is not JSON, cannot read timestamp.field " + field, e);
      }
      for (String name : path) {
        node = node == null ? null : node.get(name);
      }
      if (node == null || node.isNull()) {
        return toMillis(record, null);
      }
      return toMillis(record, node.isNumber() ? (Object) node.asLong() : node.asText());
    }

    private long toMillis(SinkRecord record, Object value) {
      if (value instanceof Number) {
        return ((Number) value).longValue();
      }
      if (value instanceof Date) {
        return ((Date) value).getTime();
      }
      if (value instanceof String) {
        try {
          return ISODateTimeFormat.dateTimeParser().parseMillis((String) value);
        } catch (IllegalArgumentException e) {
          throw new DataException(where(record) + ": timestamp.field " + field + " = '" + value
              + "' is neither epoch ms nor an ISO-8601 time", e);
        }
      }
      throw new DataException(where(record) + ": timestamp.field " + field + " is missing or null");
    }
  }
}
