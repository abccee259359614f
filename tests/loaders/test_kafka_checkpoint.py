"""The Kafka checkpoint file: what a resume knows from it (keys, and up to which offset of each partition)."""

from __future__ import annotations

from pathlib import Path

from loaders.sinks.kafka_checkpoint import Checkpoint


def test_acknowledgements_and_marks_tell_where_the_tail_starts(tmp_path: Path) -> None:
    path = tmp_path / "state" / "kafka-t-id.delivered"
    checkpoint = Checkpoint(path)
    checkpoint.open()
    checkpoint.mark({0: 10, 1: 4})
    checkpoint.add("a", 0, 10)
    checkpoint.add("b", 1, 7)
    checkpoint.close()

    again = Checkpoint(path)
    assert again.done == {"a", "b"}
    assert again.next_offsets == {0: 11, 1: 8}


def test_a_torn_last_line_and_keys_without_offsets_still_count(tmp_path: Path) -> None:
    path = tmp_path / "kafka-t-id.delivered"
    path.write_text("old-1\nold-2\n#next\t0\t5\nc\t0\t5\nd\t0")  # the old format, then a write cut by kill -9
    checkpoint = Checkpoint(path)
    assert checkpoint.done == {"old-1", "old-2", "c"}  # d is found on the topic past offset 5
    assert checkpoint.next_offsets == {0: 6}
