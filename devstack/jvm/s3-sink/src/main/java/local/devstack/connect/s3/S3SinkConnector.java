package local.devstack.connect.s3;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/** Writes record values to S3 as JSON lines, with Confluent's S3 sink's config and object names. */
public class S3SinkConnector extends SinkConnector {
  static final String VERSION = "2.1.0";
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

  /** ConfigDef's per-key checks (types, ranges, accepted values), plus unknown keys and the rules between keys,
   * each reported on the key it is about (the worker's PUT /connector-plugins/{class}/config/validate). */
  @Override
  public Config validate(Map<String, String> connectorConfigs) {
    Config config = super.validate(connectorConfigs);
    Map<String, ConfigValue> byName = new HashMap<>();
    for (ConfigValue value : config.configValues()) {
      byName.put(value.name(), value);
    }
    List<ConfigValue> values = new ArrayList<>(config.configValues());
    for (String[] problem : S3SinkConfig.problems(connectorConfigs)) {
      ConfigValue value = byName.get(problem[0]);
      if (value == null) {
        value = new ConfigValue(problem[0], connectorConfigs.get(problem[0]), List.of(), new ArrayList<>());
        byName.put(problem[0], value);
        values.add(value);
      }
      value.addErrorMessage(problem[1]);
    }
    return new Config(values);
  }

  @Override
  public String version() {
    return VERSION;
  }
}
