"""devstack's S3 sink against the real Connect worker, Kafka and moto, held to Confluent's S3 sink promises on
rotation and layout: wall-clock rotation that lands the last records without more arriving, the time-based
partitioners' folders, record-time rotation, and gzip objects."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from _s3_sinks import TIME_PARTITIONER, Sink, doc
from test_connect import wait_for

from contract.lake_readers import read_sink_records

pytestmark = pytest.mark.devstack


def test_the_last_records_land_within_the_scheduled_rotation_without_more_arriving(sink: Sink) -> None:
    interval_ms = 3000
    sink.start(**{"flush.size": "1000", "rotate.schedule.interval.ms": str(interval_ms), "timezone": "UTC"})
    sink.produce([doc(-1)])  # warm-up: the task has joined its group and polls
    wait_for(lambda: sink.ids() == [-1], 60, "the warm-up record")

    sink.produce([doc(i) for i in range(5)])
    sent = time.monotonic()
    wait_for(lambda: sorted(sink.ids()) == [-1, 0, 1, 2, 3, 4], (interval_ms + 2000) / 1000, "the last 5 records")
    assert time.monotonic() - sent <= (interval_ms + 2000) / 1000


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


HOUR_3, HOUR_4 = _epoch_ms("2026-01-02T03:10:00+00:00"), _epoch_ms("2026-01-02T04:15:00+00:00")


@pytest.mark.parametrize("extractor", ["Record", "RecordField"])
def test_the_time_partitioner_writes_path_format_folders_by_record_time(sink: Sink, extractor: str) -> None:
    sink.start(
        **{
            "flush.size": "4",
            "partitioner.class": TIME_PARTITIONER,
            "path.format": "'dt'=YYYY-MM-dd/'hour'=HH",
            "partition.duration.ms": "3600000",
            "locale": "en-US",
            "timezone": "UTC",
            "timestamp.extractor": extractor,
            "timestamp.field": "ts",
        }
    )
    times = [HOUR_3, HOUR_3 + 60_000, HOUR_4, HOUR_3 + 120_000]
    # RecordField reads the value's `ts` (ISO-8601); the Kafka timestamps then say another day entirely
    values = [doc(i, ts=_iso(t)) for i, t in enumerate(times)]
    kafka_times = times if extractor == "Record" else [t + 86_400_000 for t in times]
    sink.produce(values, timestamps=kafka_times)

    objects = wait_for(lambda: len(sink.objects()) == 2 and sink.objects(), 60, "two time-partition objects")
    three = f"{sink.prefix}dt=2026-01-02/hour=03/{sink.topic}+0+0000000000.json"
    four = f"{sink.prefix}dt=2026-01-02/hour=04/{sink.topic}+0+0000000002.json"
    assert set(objects) == {three, four}
    assert [line["id"] for line in sink.lines(three)] == [0, 1, 3]
    assert [line["id"] for line in sink.lines(four)] == [2]
    records = read_sink_records(sink.outputs(), sink.topic)
    assert sorted(r.value["id"] for r in records) == [0, 1, 2, 3], "the reader finds every record once"


def test_the_daily_partitioner_with_wallclock_files_records_under_the_workers_date(sink: Sink) -> None:
    sink.start(
        **{
            "flush.size": "1",
            "partitioner.class": "io.confluent.connect.storage.partitioner.DailyPartitioner",
            "locale": "en-US",
            "timezone": "UTC",
            "timestamp.extractor": "Wallclock",
        }
    )
    before = datetime.now(UTC)
    sink.produce([doc(0)], timestamps=[HOUR_3])  # the record's own time is ignored
    objects = wait_for(lambda: sink.objects(), 60, "an object")
    after = datetime.now(UTC)
    folders = {sink.prefix + t.strftime("year=%Y/month=%m/day=%d") for t in (before, after)}
    assert {key.rsplit("/", 1)[0] for key in objects} <= folders


def test_rotate_interval_cuts_objects_by_record_time_not_by_the_clock(sink: Sink) -> None:
    sink.start(
        **{
            "flush.size": "100",
            "rotate.interval.ms": "2000",
            "partitioner.class": TIME_PARTITIONER,
            "path.format": "'dt'=YYYY-MM-dd",
            "partition.duration.ms": "86400000",
            "locale": "en-US",
            "timezone": "UTC",
            "timestamp.extractor": "Record",
        }
    )
    # 0 and 1 within 2 s of record time; 2 is 3 s past 0 and starts an object; 3, 5 s past 2, rotates that one
    times = [HOUR_3, HOUR_3 + 1_000, HOUR_3 + 3_000, HOUR_3 + 8_000]
    sink.produce([doc(i) for i in range(4)], timestamps=times)
    folder = f"{sink.prefix}dt=2026-01-02/{sink.topic}+0+"
    objects = wait_for(lambda: len(sink.objects()) == 2 and sink.objects(), 60, "two objects")
    assert set(objects) == {f"{folder}0000000000.json", f"{folder}0000000002.json"}
    assert [line["id"] for line in sink.lines(f"{folder}0000000000.json")] == [0, 1]
    assert [line["id"] for line in sink.lines(f"{folder}0000000002.json")] == [2]
    time.sleep(3)  # the clock moves on, record time does not: 3 stays open (no rotate.schedule.interval.ms)
    assert len(sink.objects()) == 2


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_ms / 1000))


def test_gzip_objects_are_named_json_gz_and_read_back(sink: Sink) -> None:
    sink.start(**{"flush.size": "2", "s3.compression.type": "gzip"})
    sink.produce([doc(i, text="x" * 200) for i in range(4)])
    objects = wait_for(lambda: len(sink.objects()) == 2 and sink.objects(), 60, "two gzip objects")
    assert set(objects) == {f"{sink.prefix}partition=0/{sink.topic}+0+{o:010d}.json.gz" for o in (0, 2)}
    assert all(o["Size"] < 2 * 200 for o in objects.values()), "the objects are compressed"
    records = read_sink_records(sink.outputs(), sink.topic)
    assert [(r.offset, r.value["id"]) for r in records] == [(0, 0), (1, 1), (2, 2), (3, 3)]
