package local.devstack.connect.s3;

import java.util.List;
import java.util.Map;

/**
 * The bucket as the sink uses it. Every call either succeeds or throws a
 * {@link org.apache.kafka.connect.errors.RetriableException} whose message names the bucket and the call: S3 being
 * unreachable or its bucket missing is never fatal to the task (the records stay uncommitted and come again).
 */
interface Storage extends AutoCloseable {
  /** Keys of every object under {@code prefix}. */
  List<String> list(String prefix);

  /** The object's user metadata, or null when there is no such object. */
  Map<String, String> metadata(String key);

  /** Writes one whole object (an existing one of that name is replaced). */
  void put(String key, byte[] body, Map<String, String> metadata);

  void delete(String key);

  @Override
  void close();
}
