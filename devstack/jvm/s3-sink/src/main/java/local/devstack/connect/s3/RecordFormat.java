package local.devstack.connect.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * Confluent's JsonFormat: one JSON document per line, the object gzipped when s3.compression.type=gzip (name
 * ending .json.gz). Values that are byte arrays (from {@link SchemaRegistryJsonConverter} or ByteArrayConverter)
 * are written exactly as they are; maps, lists and primitives (JsonConverter, schemas.enable=false) and structs
 * are serialized as JSON.
 */
final class RecordFormat {
  private final JsonConverter json = new JsonConverter();
  private final boolean gzip;
  private final int level;

  RecordFormat(boolean gzip, int level) {
    this.gzip = gzip;
    this.level = level;
    json.configure(Map.of("schemas.enable", "false", "converter.type", "value"));
  }

  String extension() {
    return gzip ? ".json.gz" : ".json";
  }

  byte[] line(SinkRecord record) {
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
    return end == out.length ? out : Arrays.copyOf(out, end);
  }

  byte[] object(byte[] lines) {
    if (!gzip) {
      return lines;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(lines.length / 4 + 64);
    try (GZIPOutputStream zip = new LeveledGzip(out, level)) {
      zip.write(lines);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // in memory: does not happen
    }
    return out.toByteArray();
  }

  private static final class LeveledGzip extends GZIPOutputStream {
    LeveledGzip(ByteArrayOutputStream out, int level) throws IOException {
      super(out);
      def.setLevel(level);
    }
  }
}
