package local.devstack.connect.s3;

import org.apache.kafka.common.TopicPartition;

/**
 * The sink's object names, {@code <topics.dir>/<topic>/<encoded partition>/<topic>+<p>+<start offset>.json[.gz]}
 * (Confluent's), both ways. contract/lake_layout.py writes and reads the same names: both sides check
 * contract/lake_layout_golden.json.
 */
final class ObjectNames {
  private ObjectNames() {}

  /** The key prefix of every object of {@code topic}. */
  static String topicPrefix(String topicsDir, String topic) {
    return topicsDir + "/" + topic + "/";
  }

  /** {@code extension}: {@code .json} or {@code .json.gz}; the offset is zero-padded to {@code zeroPadWidth}. */
  static String of(
      String topicsDir, TopicPartition tp, String encodedPartition, long startOffset, int zeroPadWidth,
      String extension) {
    String offset = String.format("%0" + Math.max(1, zeroPadWidth) + "d", startOffset);
    return topicPrefix(topicsDir, tp.topic()) + encodedPartition + "/" + tp.topic() + "+" + tp.partition() + "+"
        + offset + extension;
  }

  /** The start offset of {@code key}, an object of {@code tp}'s, or null when {@code key} is no such name. */
  static Long startOffset(String key, TopicPartition tp) {
    String marker = "/" + tp.topic() + "+" + tp.partition() + "+";
    int at = key.lastIndexOf(marker);
    int dot = at < 0 ? -1 : key.indexOf('.', at + marker.length());
    if (dot <= at + marker.length()) {
      return null;
    }
    try {
      return Long.parseLong(key.substring(at + marker.length(), dot));
    } catch (NumberFormatException e) {
      return null; // not an object name of this sink
    }
  }
}
