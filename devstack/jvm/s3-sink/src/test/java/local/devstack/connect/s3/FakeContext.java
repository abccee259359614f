package local.devstack.connect.s3;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.connect.sink.SinkTaskContext;

/** What a sink task asks of its worker: the backoff (timeout) and rewinds (offset) it asked for are kept. */
final class FakeContext implements SinkTaskContext {
  long timeout = -1;
  final Map<TopicPartition, Long> rewinds = new HashMap<>();

  @Override
  public Map<String, String> configs() {
    return Map.of();
  }

  @Override
  public void offset(Map<TopicPartition, Long> offsets) {
    rewinds.putAll(offsets);
  }

  @Override
  public void offset(TopicPartition tp, long offset) {
    rewinds.put(tp, offset);
  }

  @Override
  public void timeout(long ms) {
    timeout = ms;
  }

  @Override
  public Set<TopicPartition> assignment() {
    return Set.of();
  }

  @Override
  public void pause(TopicPartition... partitions) {}

  @Override
  public void resume(TopicPartition... partitions) {}

  @Override
  public void requestCommit() {}

  @Override
  public PluginMetrics pluginMetrics() {
    throw new UnsupportedOperationException("the S3 sink registers no metrics");
  }
}
