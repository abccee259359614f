package local.devstack.connect.s3;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.storage.Converter;

/**
 * Reads JSON values as their original bytes. A value in the schema registry wire format (magic byte 0, a 4-byte
 * schema id, then the document: what confluent-kafka's JSONSerializer writes by default) loses those 5 bytes; a
 * plain JSON value (e.g. from a serializer that puts the schema id in a header) is passed as it is. The result is
 * an optional BYTES value holding exactly the producer's JSON, which S3SinkTask writes unchanged; the value is
 * parsed once to reject anything that is not JSON. Writing (fromConnectData) accepts byte arrays only.
 */
public class SchemaRegistryJsonConverter implements Converter {
  private static final byte MAGIC_BYTE = 0x0;
  private static final int PREFIX_LENGTH = 5;
  private final ObjectMapper mapper = new ObjectMapper();

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {}

  @Override
  public byte[] fromConnectData(String topic, Schema schema, Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof byte[]) {
      return (byte[]) value;
    }
    throw new DataException("SchemaRegistryJsonConverter writes byte arrays only, got " + value.getClass());
  }

  @Override
  public SchemaAndValue toConnectData(String topic, byte[] value) {
    if (value == null) {
      return SchemaAndValue.NULL;
    }
    byte[] document = value;
    if (value.length >= PREFIX_LENGTH && value[0] == MAGIC_BYTE) {
      document = Arrays.copyOfRange(value, PREFIX_LENGTH, value.length);
    }
    try {
      mapper.readTree(document);
    } catch (IOException e) {
      throw new DataException("value of a record in " + topic + " is not JSON: " + e.getMessage(), e);
    }
    return new SchemaAndValue(Schema.OPTIONAL_BYTES_SCHEMA, document);
  }
}
