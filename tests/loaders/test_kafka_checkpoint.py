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


def test_sent_keys_count_only_once_their_section_is_committed(tmp_path: Path) -> None:
    path = tmp_path / "kafka-t-id.delivered"
    checkpoint = Checkpoint(path)
    checkpoint.open()
    checkpoint.mark({0: 3})
    checkpoint.begin()
    checkpoint.sent([b"a", b"b", b"c"])
    checkpoint.commit(["b"], {0: 6})  # b's delivery failed and the topic does not hold it
    checkpoint.sent([b"d", b"e"])  # then a kill -9: d and e are in flight, or on the topic past offset 6
    checkpoint.close()

    again = Checkpoint(path)
    assert again.done == {"a", "c"}
    assert again.next_offsets == {0: 6}


def test_a_run_after_a_torn_line_starts_on_a_line_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "kafka-t-id.delivered"
    path.write_text("#next\t0\t2\n#sending\nx\ny")  # killed while writing its keys: nothing committed
    checkpoint = Checkpoint(path)
    checkpoint.open()
    checkpoint.mark({0: 4})
    checkpoint.begin()
    checkpoint.sent([b"z"])
    checkpoint.commit([], {0: 5})
    checkpoint.close()

    again = Checkpoint(path)
    assert again.done == {"z"}
    assert again.next_offsets == {0: 5}
