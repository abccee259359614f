package local.devstack.connect.s3;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/** Writes record values to S3 as JSON lines. See {@link S3SinkTask}. */
public class S3SinkConnector extends SinkConnector {
  static final String VERSION = "1.0.0";
  private Map<String, String> props;

  @Override
  public void start(Map<String, String> props) {
    new S3SinkConfig(props); // fail fast on a bad config
    this.props = new HashMap<>(props);
  }

  @Override
  public Class<? extends Task> taskClass() {
    return S3SinkTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    List<Map<String, String>> configs = new ArrayList<>();
    for (int i = 0; i < maxTasks; i++) {
      configs.add(new HashMap<>(props));
    }
    return configs;
  }

  @Override
  public void stop() {}

  @Override
  public ConfigDef config() {
    return S3SinkConfig.DEF;
  }

  @Override
  public String version() {
    return VERSION;
  }
}
