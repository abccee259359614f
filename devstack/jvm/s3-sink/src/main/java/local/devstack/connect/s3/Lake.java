package local.devstack.connect.s3;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.apache.kafka.common.TopicPartition;

/**
 * What S3 holds of one topic partition from some offset on, read back from the objects the sink wrote: each object
 * carries its batch in its metadata (first offset, offset after it, object count, write time), so the batches are
 * an interval set of offsets, each whole (all its objects are there) or partial (some were lost, or a crash stopped
 * its upload midway). A record is already in the lake exactly when its offset lies in a whole batch.
 *
 * <p>Of two batches that overlap, the one written later holds the offsets: the earlier one is {@link Superseded}
 * (newer records took its offsets, and it was written again elsewhere), and is deleted once newer whole batches
 * cover it all.
 *
 * <p>{@link LakeReader} reads it from the first offset asked for on: a worker resuming from its committed offset
 * reads the last few objects, and a rewind reads those of the range it replays, once. A worker never commits past a
 * superseded batch that a newer one overlaps ({@link #supersededFrom}), so a restart reads both back.
 */
final class Lake {
  /**
   * S3 user metadata of every object: its batch's first offset, the offset after it, its objects, its write time
   * (contract/lake_layout.py names the same keys; both check contract/lake_layout_golden.json).
   */
  static final String BATCH_START = "kde-batch-start";
  static final String BATCH_END = "kde-batch-end";
  static final String BATCH_OBJECTS = "kde-batch-objects";
  static final String WRITTEN_AT = "kde-written-at";

  /** Offsets [start, end) written together as {@code objects} objects at {@code writtenAt}; {@code keys}: found. */
  record Batch(long start, long end, int objects, long writtenAt, List<String> keys) {
    boolean whole() {
      return keys.size() >= objects;
    }

    boolean contains(long offset) {
      return start <= offset && offset < end;
    }

    boolean overlaps(Batch other) {
      return start < other.end && other.start < end;
    }

    /** This batch less the objects named {@code gone}. */
    Batch without(Collection<String> gone) {
      return new Batch(start, end, objects, writtenAt, keys.stream().filter(k -> !gone.contains(k)).toList());
    }

    Map<String, String> metadata() {
      return Map.of(BATCH_START, Long.toString(start), BATCH_END, Long.toString(end),
          BATCH_OBJECTS, Integer.toString(objects), WRITTEN_AT, Long.toString(writtenAt));
    }

    @Override
    public String toString() {
      return "[" + start + "," + end + ") " + keys.size() + "/" + objects + " objects";
    }
  }

  private final NavigableMap<Long, Batch> batches = new TreeMap<>();
  private final Superseded superseded = new Superseded();
  private long from;

  Lake(long from) {
    this.from = from;
  }

  static Lake empty(long from) {
    return new Lake(from);
  }

  /** The lowest offset this reading knows about: below it, S3 was not read. */
  long from() {
    return from;
  }

  /** The batch holding {@code offset}, or null. */
  Batch at(long offset) {
    Map.Entry<Long, Batch> floor = batches.floorEntry(offset);
    return floor != null && floor.getValue().contains(offset) ? floor.getValue() : null;
  }

  /** A batch the sink has just written whole (or found). Of two batches at one offset, the whole one counts. */
  void add(Batch batch) {
    Batch there = batches.get(batch.start());
    if (there == null || (batch.whole() && (!there.whole() || batch.end() > there.end()))) {
      batches.put(batch.start(), batch);
    }
  }

  /** A batch read back from S3, {@code superseded} when a batch written later overlaps it. */
  void found(Batch batch, boolean superseded) {
    if (superseded) {
      this.superseded.add(batch);
    } else {
      add(batch);
    }
  }

  /** A batch the sink has just written: what it wrote again by name is its own, what it overlaps is superseded. */
  void written(Batch batch) {
    superseded.replaced(batch.keys());
    for (Batch other : near(batch)) {
      if (other.overlaps(batch)) {
        batches.remove(other.start(), other);
        superseded.add(other.without(batch.keys()));
      }
    }
    add(batch);
  }

  void remove(Batch batch) {
    batches.remove(batch.start(), batch);
  }

  /**
   * Newer records took the offsets from {@code start} on (a re-created topic, or a broker that lost the end of its
   * log): the batches there are superseded, and their objects go once newer batches cover them.
   */
  void supersedeFrom(long start) {
    for (Batch batch : List.copyOf(batches.tailMap(start, true).values())) {
      batches.remove(batch.start());
      superseded.add(batch);
    }
  }

  /** Deletes the superseded batches that newer whole batches cover all of (a failure is left for later). */
  void deleteSuperseded(Storage storage, TopicPartition tp) {
    superseded.deleteCovered(storage, tp, this::covered);
  }

  /**
   * The lowest start of a superseded batch that a newer one overlaps, or of that newer one (Long.MAX_VALUE: none):
   * a worker resuming there reads both back, so a crash before the old one is deleted leaves it to the next start.
   */
  long supersededFrom() {
    long lowest = Long.MAX_VALUE;
    for (Batch old : superseded.batches()) {
      for (Batch newer : near(old)) {
        if (newer.overlaps(old)) {
          lowest = Math.min(lowest, Math.min(old.start(), newer.start()));
        }
      }
    }
    return lowest;
  }

  /** The batches that may overlap {@code batch}: those starting in its range, and the one before it. */
  private List<Batch> near(Batch batch) {
    Long floor = batches.floorKey(batch.start());
    return List.copyOf(batches.subMap(floor == null ? batch.start() : floor, true, batch.end(), false).values());
  }

  /** Whether whole batches written after {@code old} hold every offset of its range. */
  private boolean covered(Batch old) {
    long offset = old.start();
    while (offset < old.end()) {
      Batch newer = at(offset);
      if (newer == null || !newer.whole() || newer.writtenAt() <= old.writtenAt()) {
        return false;
      }
      offset = newer.end();
    }
    return true;
  }

  /** One line for the log: how many whole batches, from where to where, and each partial one. */
  String summary() {
    List<Batch> whole = batches.values().stream().filter(Batch::whole).toList();
    List<Batch> partial = batches.values().stream().filter(b -> !b.whole()).toList();
    String held = whole.isEmpty() ? "no whole batch"
        : whole.size() + " whole batches within [" + whole.get(0).start() + "," + whole.get(whole.size() - 1).end()
            + ")";
    return held + (partial.isEmpty() ? "" : ", partial: " + partial) + " from offset " + from + " on"
        + (superseded.isEmpty() ? "" : ", superseded: " + superseded);
  }
}
