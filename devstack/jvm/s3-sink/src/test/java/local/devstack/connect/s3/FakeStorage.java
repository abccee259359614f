package local.devstack.connect.s3;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.connect.errors.RetriableException;

/** A bucket in memory that can be down, or fail after a number of writes (as S3 dying mid-batch). */
final class FakeStorage implements Storage {
  record StoredObject(byte[] body, Map<String, String> metadata) {}

  final TreeMap<String, StoredObject> objects = new TreeMap<>();
  /** Keys in the order they were written (again), and deleted. */
  final List<String> writes = new ArrayList<>();
  final List<String> deletes = new ArrayList<>();
  boolean down;
  /** Deletes fail (as S3 dying between a batch's write and the deletion of what it replaces). */
  boolean deletesFail;
  int calls;
  int heads;
  /** Writes that still succeed before every call fails (as `down`); -1: no limit. */
  int writesLeft = -1;

  private void call(String what) {
    calls++;
    if (writesLeft == 0) {
      down = true;
      writesLeft = -1;
    }
    if (down) {
      throw new RetriableException(what + " failed: S3 is down (fake)");
    }
  }

  @Override
  public List<String> list(String prefix) {
    call("listing " + prefix);
    return objects.keySet().stream().filter(k -> k.startsWith(prefix)).toList();
  }

  @Override
  public Map<String, String> metadata(String key) {
    call("head " + key);
    heads++;
    StoredObject o = objects.get(key);
    return o == null ? null : o.metadata();
  }

  @Override
  public void put(String key, byte[] body, Map<String, String> metadata) {
    call("writing " + key);
    if (writesLeft > 0) {
      writesLeft--;
    }
    objects.put(key, new StoredObject(body.clone(), Map.copyOf(metadata)));
    writes.add(key);
  }

  @Override
  public void delete(String key) {
    call("deleting " + key);
    if (deletesFail) {
      throw new RetriableException("deleting " + key + " failed (fake)");
    }
    objects.remove(key);
    deletes.add(key);
  }

  @Override
  public void close() {}

  /** Every line of every object, in key order. */
  List<String> lines() {
    List<String> lines = new ArrayList<>();
    for (StoredObject o : objects.values()) {
      for (String line : new String(o.body(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isEmpty()) {
          lines.add(line);
        }
      }
    }
    return lines;
  }

  /** The "id" of every line of every object: a record written twice is there twice. */
  List<Long> ids() {
    List<Long> ids = new ArrayList<>();
    for (StoredObject o : objects.values()) {
      for (String line : new String(o.body(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isEmpty()) {
          ids.add(Long.parseLong(line.replaceAll("[^0-9]", "")));
        }
      }
    }
    ids.sort(null);
    return ids;
  }
}
