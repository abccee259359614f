package local.devstack.connect.s3;

import static local.devstack.connect.s3.Lake.BATCH_END;
import static local.devstack.connect.s3.Lake.BATCH_OBJECTS;
import static local.devstack.connect.s3.Lake.BATCH_START;
import static local.devstack.connect.s3.Lake.WRITTEN_AT;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import local.devstack.connect.s3.Lake.Batch;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads back what S3 holds of one topic partition ({@link Lake}) from the objects' names and metadata: the objects
 * at and above the first offset asked for, one HEAD each on top of the listing (1,000 names a request), and those
 * of a batch holding that offset that begin below it.
 */
final class LakeReader {
  private LakeReader() {}

  /** The batches of {@code tp} under {@code topicsDir} that hold {@code from} or lie above it. */
  static Lake read(Storage storage, String topicsDir, TopicPartition tp, long from) {
    NavigableMap<Long, List<String>> byStart = objects(storage, topicsDir, tp);
    Long floor = byStart.floorKey(from);
    long readFrom = floor == null ? from : floor;
    Map<String, Map<String, String>> metadata = new HashMap<>();
    readMetadata(storage, byStart.tailMap(readFrom, true), metadata);
    long lowest = lowestBatchStart(metadata.values(), readFrom);
    if (lowest < readFrom) { // a batch holding `from` began below its floor object: its other objects count too
      readMetadata(storage, byStart.subMap(lowest, true, readFrom, false), metadata);
    }
    Lake lake = new Lake(Math.min(from, lowest));
    List<Batch> found = batches(metadata);
    Set<Batch> older = olderOfOverlaps(found);
    for (Batch batch : found) {
      lake.found(batch, older.contains(batch));
    }
    return lake;
  }

  /** Of every two batches that overlap, the one written first. */
  private static Set<Batch> olderOfOverlaps(List<Batch> batches) {
    List<Batch> byStart = new ArrayList<>(batches);
    byStart.sort(Comparator.comparingLong(Batch::start));
    Set<Batch> older = new HashSet<>();
    for (int i = 0; i < byStart.size(); i++) {
      Batch a = byStart.get(i);
      for (int j = i + 1; j < byStart.size() && byStart.get(j).start() < a.end(); j++) {
        Batch b = byStart.get(j);
        if (a.writtenAt() != b.writtenAt()) {
          older.add(a.writtenAt() < b.writtenAt() ? a : b);
        }
      }
    }
    return older;
  }

  /** The objects grouped into their batches (start, end and write time: a batch written again is another). */
  private static List<Batch> batches(Map<String, Map<String, String>> metadata) {
    Map<List<Long>, List<String>> keysByBatch = new HashMap<>();
    Map<List<Long>, Map<String, String>> anyMetadata = new HashMap<>();
    for (Map.Entry<String, Map<String, String>> e : metadata.entrySet()) {
      Map<String, String> meta = e.getValue();
      List<Long> id = List.of(number(meta, BATCH_START), number(meta, BATCH_END), number(meta, WRITTEN_AT));
      keysByBatch.computeIfAbsent(id, k -> new ArrayList<>()).add(e.getKey());
      anyMetadata.put(id, meta);
    }
    List<Batch> batches = new ArrayList<>();
    for (Map.Entry<List<Long>, List<String>> e : keysByBatch.entrySet()) {
      Map<String, String> meta = anyMetadata.get(e.getKey());
      batches.add(new Batch(e.getKey().get(0), e.getKey().get(1), (int) number(meta, BATCH_OBJECTS),
          number(meta, WRITTEN_AT), List.copyOf(e.getValue())));
    }
    return batches;
  }

  /** The start offsets of {@code tp}'s objects, from their names ({@code .../<topic>+<p>+<offset>.json[.gz]}). */
  private static NavigableMap<Long, List<String>> objects(Storage storage, String topicsDir, TopicPartition tp) {
    NavigableMap<Long, List<String>> byStart = new TreeMap<>();
    for (String key : storage.list(ObjectNames.topicPrefix(topicsDir, tp.topic()))) {
      Long start = ObjectNames.startOffset(key, tp);
      if (start != null) {
        byStart.computeIfAbsent(start, k -> new ArrayList<>()).add(key);
      }
    }
    return byStart;
  }

  /** HEADs the objects; those without a whole batch record (written by an earlier version) are left out. */
  private static void readMetadata(
      Storage storage, Map<Long, List<String>> objects, Map<String, Map<String, String>> into) {
    for (List<String> keys : objects.values()) {
      for (String key : keys) {
        Map<String, String> meta = storage.metadata(key);
        if (meta != null && valid(meta)) {
          into.put(key, meta);
        }
      }
    }
  }

  private static boolean valid(Map<String, String> meta) {
    try {
      return number(meta, BATCH_START) < number(meta, BATCH_END) && number(meta, BATCH_OBJECTS) > 0
          && meta.containsKey(WRITTEN_AT) && number(meta, WRITTEN_AT) >= 0;
    } catch (NumberFormatException | NullPointerException e) {
      return false;
    }
  }

  private static long number(Map<String, String> meta, String key) {
    return Long.parseLong(meta.get(key));
  }

  private static long lowestBatchStart(Iterable<Map<String, String>> metadata, long fallback) {
    long lowest = fallback;
    for (Map<String, String> meta : metadata) {
      lowest = Math.min(lowest, number(meta, BATCH_START));
    }
    return lowest;
  }
}
