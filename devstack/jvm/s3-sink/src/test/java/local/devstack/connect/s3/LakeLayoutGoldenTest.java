package local.devstack.connect.s3;

import static local.devstack.connect.s3.Records.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

/** The names the sink writes and reads back, against the golden file contract/lake_layout.py is checked with. */
class LakeLayoutGoldenTest {
  private static final JsonNode GOLDEN = read();

  private static JsonNode read() {
    String path = System.getProperty("lake.layout.golden");
    try {
      return new ObjectMapper().readTree(Path.of(path).toFile());
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("lake layout golden file " + path + ": " + e, e);
    }
  }

  private static TopicPartition tp(JsonNode c) {
    return new TopicPartition(c.get("topic").asText(), c.get("partition").asInt());
  }

  /** A writer with the case's topics.dir, compression and zero-pad width: the names it gives its objects. */
  private static String written(JsonNode c) {
    S3SinkConfig config = new S3SinkConfig(Records.props("topics.dir", c.get("topics_dir").asText(),
        "s3.compression.type", c.get("compression").asText(),
        "filename.offset.zero.pad.width", c.get("zero_pad_width").asText()));
    TopicPartitionWriter writer = new TopicPartitionWriter(tp(c), config, Partitioner.of(config, Locale.ROOT),
        TimestampExtractor.of(config.getString(S3SinkConfig.TIMESTAMP_EXTRACTOR), "ts"),
        new RecordFormat(config.gzip(), config.compressionLevel()), new FakeStorage(), new FakeContext()::offset, T0);
    return writer.key(c.get("folder").asText(), c.get("start_offset").asLong());
  }

  @Test
  void objectNamesAreWrittenAsTheGoldenFileSays() {
    assertFalse(GOLDEN.get("s3_sink").isEmpty());
    for (JsonNode c : GOLDEN.get("s3_sink")) {
      assertEquals(c.get("name").asText(), written(c));
    }
  }

  @Test
  void objectNamesAreReadBackAsTheGoldenFileSays() {
    for (JsonNode c : GOLDEN.get("s3_sink")) {
      assertEquals(c.get("start_offset").asLong(), ObjectNames.startOffset(c.get("name").asText(), tp(c)),
          c.get("name").asText());
    }
    for (JsonNode c : GOLDEN.get("not_s3_sink_names")) {
      assertNull(ObjectNames.startOffset(c.get("key").asText(), tp(c)), c.get("key").asText());
    }
  }

  @Test
  void theDefaultPartitionersFolderIsTheGoldenFiles() {
    for (JsonNode c : GOLDEN.get("s3_sink")) {
      if (c.get("folder").asText().startsWith("partition=")) {
        SinkRecord record = new SinkRecord(tp(c).topic(), tp(c).partition(), null, null, null, new byte[0], 0L);
        assertEquals(c.get("folder").asText(), new Partitioner.DefaultPartitioner().encodePartition(record, null));
      }
    }
  }

  @Test
  void batchMetadataKeysAreTheGoldenFiles() {
    JsonNode keys = GOLDEN.get("batch_metadata");
    assertEquals(keys.get("start").asText(), Lake.BATCH_START);
    assertEquals(keys.get("end").asText(), Lake.BATCH_END);
    assertEquals(keys.get("objects").asText(), Lake.BATCH_OBJECTS);
    assertEquals(keys.get("written_at").asText(), Lake.WRITTEN_AT);
  }
}
