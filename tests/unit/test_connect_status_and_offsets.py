"""A Kafka Connect connector's live state read from the worker's status, and the offsets a rewind writes (KIP-875)
with the `offsets` verb that drives it."""

from __future__ import annotations

import pytest

from components.connect.client import ConnectError
from components.connect.offsets import SinkOffset, rewound
from components.connect.status import live_state, task_summary


@pytest.mark.parametrize(
    ("connector", "tasks", "state"),
    [
        ("RUNNING", ["RUNNING", "RUNNING"], "RUNNING"),
        ("RUNNING", [], "connector RUNNING, no tasks yet"),
        ("RUNNING", ["RUNNING", "UNASSIGNED"], "connector RUNNING, task 0 RUNNING, task 1 UNASSIGNED"),
        ("PAUSED", ["PAUSED"], "PAUSED"),
        ("PAUSED", [], "PAUSED"),
        ("PAUSED", ["RUNNING"], "connector PAUSED, task 0 RUNNING"),
        ("STOPPED", [], "STOPPED"),
        ("RUNNING", ["FAILED", "RUNNING"], "FAILED (task 0: java.lang.RuntimeException: boom 0)"),
        ("FAILED", ["FAILED"], "FAILED (connector: java.lang.RuntimeException: boom c; task 0: java.lang.Runti..."),
    ],
)
def test_live_state(connector: str, tasks: list[str], state: str) -> None:
    def trace(what: object) -> str:
        return f"java.lang.RuntimeException: boom {what}\n\tat local.devstack.Some.method(Some.java:1)"

    status = {
        "connector": {"state": connector, **({"trace": trace("c")} if connector == "FAILED" else {})},
        "tasks": [{"id": i, "state": t, **({"trace": trace(i)} if t == "FAILED" else {})} for i, t in enumerate(tasks)],
    }
    if state.endswith("..."):
        assert live_state(status).startswith(state[:-3])
    else:
        assert live_state(status) == state


def test_task_summary_keeps_the_first_trace_line_and_not_the_worker() -> None:
    status = {
        "tasks": [
            {"id": 1, "state": "RUNNING", "worker_id": "127.0.0.1:8083"},
            {"id": 0, "state": "FAILED", "worker_id": "127.0.0.1:8083", "trace": "E: x\n\tat y"},
        ]
    }
    assert task_summary(status) == [{"id": 0, "state": "FAILED", "trace": "E: x"}, {"id": 1, "state": "RUNNING"}]


OFFSETS = [SinkOffset("a", 0, 10), SinkOffset("a", 1, 4), SinkOffset("b", 0, 7)]


@pytest.mark.parametrize(
    ("topic", "partition", "to_offset", "written"),
    [
        ("a", None, None, [SinkOffset("a", 0, None), SinkOffset("a", 1, None)]),
        ("a", None, 2, [SinkOffset("a", 0, 2), SinkOffset("a", 1, 2)]),
        ("a", 1, 0, [SinkOffset("a", 1, 0)]),
        ("b", 3, None, [SinkOffset("b", 3, None)]),  # a partition with no commit yet: reset it all the same
    ],
)
def test_a_rewind_writes_the_topics_or_the_partitions_offsets(
    topic: str, partition: int | None, to_offset: int | None, written: list[SinkOffset]
) -> None:
    assert rewound(OFFSETS, topic, partition, to_offset) == written


@pytest.mark.parametrize(
    ("topic", "partition", "to_offset", "error"),
    [
        ("c", None, None, r"no committed offsets for topic c \(topics with offsets: a, b\)"),
        ("a", None, 5, "a rewind moves back only: a/1 is at 4, --to-offset 5"),
    ],
)
def test_a_rewind_refuses_what_it_cannot_do(topic: str, partition: int | None, to_offset: int, error: str) -> None:
    with pytest.raises(ConnectError, match=error):
        rewound(OFFSETS, topic, partition, to_offset)


def test_an_offset_is_patched_as_kip_875_has_it() -> None:
    assert SinkOffset("a", 1, 5).request() == {
        "partition": {"kafka_topic": "a", "kafka_partition": 1},
        "offset": {"kafka_offset": 5},
    }
    assert SinkOffset("a", 1, None).request()["offset"] is None


def test_the_offsets_verb_teaches_through_python_m_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    from stacks.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["offsets", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "rewind --topic transactions-data --partition 2 --to-offset 1000" in text
    assert "stopped (Kafka Connect alters offsets only then)" in text


def test_offsets_table_and_msk_connect_detection() -> None:
    from stacks.offsets import is_msk_connect, table

    assert table([SinkOffset("cards-data", 0, 12), SinkOffset("cards-data", 1, None)]).splitlines() == [
        "topic       partition      offset",
        "cards-data          0          12",
        "cards-data          1       start",
    ]
    assert is_msk_connect("https://kafkaconnect.ap-southeast-7.amazonaws.com")
    assert not is_msk_connect("http://127.0.0.1:15060")
