package local.devstack.connect.s3;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batches S3 still holds whose offsets newer records took (a re-created topic, a broker that lost the end of its
 * log): they are not the lake's any more, but their objects are deleted only once newer whole batches cover their
 * whole range, so a crash in between leaves a duplicate for the next start to delete, never a hole. An object a
 * newer batch wrote again under its name is the newer batch's, and is never deleted as theirs.
 */
final class Superseded {
  private static final Logger log = LoggerFactory.getLogger(Superseded.class);

  private final List<Lake.Batch> batches = new ArrayList<>();

  void add(Lake.Batch batch) {
    if (!batch.keys().isEmpty()) {
      batches.add(batch);
    }
  }

  List<Lake.Batch> batches() {
    return List.copyOf(batches);
  }

  boolean isEmpty() {
    return batches.isEmpty();
  }

  /** {@code keys} were just written again (a put replaces an object of the same name): no batch here has them. */
  void replaced(Collection<String> keys) {
    batches.replaceAll(b -> b.without(keys));
    batches.removeIf(b -> b.keys().isEmpty());
  }

  /** Deletes the objects of every batch that {@code covered} says newer whole batches cover; a failure waits. */
  void deleteCovered(Storage storage, TopicPartition tp, Predicate<Lake.Batch> covered) {
    for (Iterator<Lake.Batch> it = batches.iterator(); it.hasNext(); ) {
      Lake.Batch batch = it.next();
      if (!covered.test(batch)) {
        continue;
      }
      List<String> left = new ArrayList<>(batch.keys());
      try {
        for (Iterator<String> keys = left.iterator(); keys.hasNext(); ) {
          storage.delete(keys.next());
          keys.remove();
        }
        log.info("{}: deleted superseded batch {}, newer batches hold its offsets", tp, batch);
        it.remove();
      } catch (RetriableException e) {
        log.warn("{}: superseded batch {} is left for later (the next write or start): {}", tp, batch,
            e.getMessage());
        batches.set(batches.indexOf(batch), batch.without(batch.keys().stream().filter(k -> !left.contains(k))
            .toList()));
        return;
      }
    }
  }

  @Override
  public String toString() {
    return batches.toString();
  }
}
