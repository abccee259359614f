"""Restart and crash cases of the platform itself. With data in every store, devstack is stopped and started, or
every service (or one at a time) is killed -9 and started again; what was acknowledged before must be there
after, once, with no load run again. A crash in the middle of a load or a stream is followed by what a user does:
`make up`, then the same run again.

Each trial counts every store on its own line: the four sinks' targets, the topic and the lake the S3 sink
writes, objects in GCS, and the registry's subjects with their versions and schema ids (a subject that comes back
under another id counts as lost)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests

from contract.clients import gcs_client
from devstack.platform import Platform
from faults import tally
from faults.at_kill import AtKill
from faults.cases import STREAM_S
from faults.platform import SERVICES, up_stack
from faults.runs import last_line, load_command, produce_command, run, wait_for_progress
from faults.tally import Tally
from faults.targets import LoadTarget, wait_for_lake
from faults.trial import DATASET, Trial, Workspace
from pipelines.streaming.sink import end_offsets

LOAD_TARGETS = ("mongodb", "firestore", "dynamodb", "kafka")
#: objects a trial writes to the GCS landing bucket (nothing in the product writes GCS yet)
GCS_OBJECTS = 20
#: seconds the lake may take to hold a stream's records after a restart (re-deliveries land a while later)
LAKE_SETTLE_S = 180.0

Report = Callable[[Trial], None]


def quiet(_message: str) -> None:
    return None


def up_all() -> None:
    """`python -m devstack up`: every service started again on the data it kept."""
    Platform().up(list(SERVICES), report=quiet)


def kill_all() -> None:
    """kill -9 of every devstack service process at once, as a power cut would leave them."""
    for svc in Platform().services(list(SERVICES), with_deps=False):
        svc.kill()


# --- what a trial puts in the platform, and how to count it afterwards -------------------------------------------
@dataclass
class Stream:
    """The S3 sink's dataset produced onto its topic; the lake must hold each record once."""

    topic: str
    dataset: str
    keys: set[str]
    since: dict[int, int]
    command: list[str]
    started_at: float  # epoch seconds before its first record: the lake's objects of this stream are written after


@dataclass
class Filled:
    """A trial's data in every store, and the counts to compare after the restart."""

    case: str
    number: int
    keys: set[str]
    targets: dict[str, LoadTarget] = field(default_factory=dict)
    stream: Stream | None = None
    gcs_prefix: str = ""
    subjects: set[str] = field(default_factory=set)

    def trials(self, work: Workspace, note: str, failure: str = "", at_kill: AtKill | None = None) -> list[Trial]:
        counts: list[tuple[str, Tally]] = [(t, sink.count(self.keys)) for t, sink in self.targets.items()]
        if self.stream is not None:
            s = self.stream
            counts.append((f"topic {s.topic}", tally.tally(s.keys, tally.kafka_keys(work.outputs, s.topic, s.since))))
            lake = wait_for_lake(work.outputs, s.topic, s.dataset, s.since, len(s.keys), LAKE_SETTLE_S, s.started_at)
            counts.append(("lake (S3 sink)", tally.tally(s.keys, lake)))
        if self.gcs_prefix:
            names = {f"{self.gcs_prefix}{i}" for i in range(GCS_OBJECTS)}
            counts.append(("gcs", tally.tally(names, gcs_objects(work.outputs, self.gcs_prefix))))
        if self.subjects:
            counts.append(("registry subjects", tally.tally(self.subjects, registry_versions(work.outputs))))
        return [Trial(f"{self.case}: {store}", self.number, c, note, failure, at_kill) for store, c in counts]

    def clean(self) -> None:
        for sink in self.targets.values():
            sink.clean()


def registry_versions(outputs: dict[str, Any]) -> list[str]:
    """`subject/version/id` of every version of every subject, read from the registry's REST API (not a client's
    cache)."""
    base = outputs["schema_registry_url"].rstrip("/")

    def get(path: str) -> Any:
        response = requests.get(f"{base}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    return [
        f"{subject}/{version}/{get(f'/subjects/{subject}/versions/{version}')['id']}"
        for subject in get("/subjects")
        for version in get(f"/subjects/{subject}/versions")
    ]


def gcs_objects(outputs: dict[str, Any], prefix: str) -> list[str]:
    bucket = gcs_client(outputs).bucket(outputs["gcs_buckets"]["landing"])
    return [blob.name for blob in bucket.list_blobs(prefix=prefix)]


def write_gcs_objects(outputs: dict[str, Any], prefix: str) -> None:
    bucket = gcs_client(outputs).bucket(outputs["gcs_buckets"]["landing"])
    for i in range(GCS_OBJECTS):
        bucket.blob(f"{prefix}{i}").upload_from_string(f"object {i}\n")


def prepare_targets(work: Workspace, case: str, number: int) -> tuple[dict[str, LoadTarget], dict[str, list[str]]]:
    """Each sink's private, empty target and the load command that fills it (a folder of its own each)."""
    targets, commands = {}, {}
    for target in LOAD_TARGETS:
        sink = LoadTarget(target, work.outputs)
        path = work.outputs_file(sink.prepare())
        folder = work.trial_dir(f"{case}/{target}", number)
        pace = work.pace if target == "kafka" else 0.0
        targets[target], commands[target] = sink, load_command(target, path, folder, pace=pace)
    return targets, commands


def prepare_stream(work: Workspace, case: str, number: int, stream_s: float = 0.0) -> Stream:
    """The producer of the S3 sink's dataset, sending as fast as it can, or spread over `stream_s` seconds."""
    topic = work.outputs["s3_sink"]["topics"][0]
    dataset = next(d for d, t in work.outputs["kafka_topics"].items() if t == topic)
    keys = work.keys(dataset)
    folder = work.trial_dir(f"{case}/stream", number, dataset)
    interval = stream_s / len(keys) if stream_s else 0.0
    command = produce_command(work.outputs_file(work.outputs), folder / f"{dataset}.jsonl", dataset, interval)
    started_at = time.time()
    return Stream(topic, dataset, keys, end_offsets(work.outputs, topic), command, started_at)


def fill(work: Workspace, case: str, number: int) -> Filled:
    """Every store holds this trial's data, acknowledged: the four loads and the stream ran to their end, the lake
    holds the stream, GCS the trial's objects; the registry's subjects as they are now."""
    filled = Filled(case, number, work.keys())
    filled.targets, commands = prepare_targets(work, case, number)
    filled.stream = prepare_stream(work, case, number)
    for target, command in [*commands.items(), ("stream", filled.stream.command)]:
        done = run(command)
        if done.returncode != 0:
            raise RuntimeError(f"{case}: filling {target} failed, exit {done.returncode}: {last_line(done.stderr)}")
    s = filled.stream
    in_lake = wait_for_lake(work.outputs, s.topic, s.dataset, s.since, len(s.keys), LAKE_SETTLE_S, s.started_at)
    if len(set(in_lake)) < len(s.keys):
        raise RuntimeError(f"{case}: the lake holds {len(set(in_lake)):,} of {len(s.keys):,} before any restart")
    filled.gcs_prefix = f"faults/{uuid.uuid4().hex[:8]}/"
    write_gcs_objects(work.outputs, filled.gcs_prefix)
    filled.subjects = set(registry_versions(work.outputs))
    return filled


# --- the cases ----------------------------------------------------------------------------------------------
def platform_down_up(work: Workspace, trials: int, report: Report) -> list[Trial]:
    """`python -m devstack down`, then `up`: nothing loaded again, every store holds what it held."""
    case = "devstack down + up"
    results: list[Trial] = []
    for number in range(1, trials + 1):
        filled = fill(work, case, number)
        started = time.monotonic()
        Platform().down(list(SERVICES), report=quiet)
        up_all()
        note = f"down + up in {time.monotonic() - started:.1f}s, nothing run again"
        results += _reported(filled.trials(work, note), report)
        filled.clean()
        up_stack()
    return results


def kill_all_at_rest(work: Workspace, trials: int, report: Report) -> list[Trial]:
    """kill -9 of every service process with data in every store, then `up`: nothing loaded again."""
    case = "kill -9 every service, then up"
    results: list[Trial] = []
    for number in range(1, trials + 1):
        filled = fill(work, case, number)
        kill_all()
        up_all()
        results += _reported(filled.trials(work, "every service killed -9 at rest, nothing run again"), report)
        filled.clean()
        up_stack()
    return results


def kill_each_service(work: Workspace, trials: int, report: Report) -> list[Trial]:
    """Each data-holding service alone killed -9 and started again; then every store is counted."""
    case = "kill -9 each service alone"
    results: list[Trial] = []
    for number in range(1, trials + 1):
        filled = fill(work, case, number)
        order = [name for name in SERVICES if name not in ("connect", "airflow")]
        for name in order:
            Platform().services([name], with_deps=False)[0].kill()
            Platform().up([name], report=quiet)
        note = f"killed -9 and started, one after another: {', '.join(order)}; nothing run again"
        results += _reported(filled.trials(work, note), report)
        filled.clean()
    return results


def kill_all_mid_load(work: Workspace, trials: int, report: Report) -> list[Trial]:
    """Every service killed -9 at a random point of the four loads' writes (run one after another, as a chain),
    the loads with them; then `up` and the same loads again."""
    case = "kill -9 every service mid-load"
    results: list[Trial] = []
    for number in range(1, trials + 1):
        keys = work.keys()
        targets, commands = prepare_targets(work, case, number)

        written = partial(_written, list(targets.values()))
        source = len(keys) * len(targets)
        running, back_in = crash_at(_chain(commands), written, work.kill_point(source))
        at_kill = AtKill(running, written(), source)  # counted after `up`: what the crash left, before any re-run
        failure = _again(commands.values())
        filled = Filled(case, number, keys, targets)
        note = f"{at_kill} (the four loads), back up in {back_in:.1f}s; loads run again"
        results += _reported(filled.trials(work, note, failure, at_kill), report)
        filled.clean()
    return results


def kill_all_mid_stream(work: Workspace, trials: int, report: Report) -> list[Trial]:
    """Every service killed -9 at a random point while the producer streams the S3 sink's dataset (the producer
    with them); then `up` and the producer again, which resumes from its checkpoint."""
    case = "kill -9 every service mid-stream"
    results: list[Trial] = []
    for number in range(1, trials + 1):
        stream = prepare_stream(work, case, number, STREAM_S)

        def on_topic(s: Stream = stream) -> int:
            return len(set(tally.kafka_keys(work.outputs, s.topic, s.since)))

        running, back_in = crash_at(stream.command, on_topic, work.kill_point(len(stream.keys)))
        at_kill = AtKill(running, on_topic(), len(stream.keys))
        failure = _again([stream.command])
        filled = Filled(case, number, stream.keys, stream=stream)
        note = f"{at_kill} on the topic, back up in {back_in:.1f}s; producer run again"
        results += _reported(filled.trials(work, note, failure, at_kill), report)
    return results


def crash_at(command: list[str], progress: Callable[[], int], records: int) -> tuple[bool, float]:
    """Run `command`; once `progress()` reaches `records`, kill -9 it and every devstack service (a power cut), then
    `up` everything again. Whether the run was still going at the crash, and how long `up` took."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    running = wait_for_progress(proc, progress, records, timeout=300)
    kill_all()
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    started = time.monotonic()
    up_all()
    up_stack()
    return running, time.monotonic() - started


def _chain(commands: dict[str, list[str]]) -> list[str]:
    return ["bash", "-c", " && ".join(shlex.join(c) for c in commands.values())]


def _written(sinks: list[LoadTarget]) -> int:
    return sum(sink.held() for sink in sinks)


def _again(commands: Any) -> str:
    """Each command run again to its end; the failures, as one line."""
    failures = []
    for command in commands:
        again = run(command)
        if again.returncode != 0:
            failures.append(f"{' '.join(command[2:5])}: exit {again.returncode}: {last_line(again.stderr)}")
    return "; ".join(failures)


def _reported(trials: list[Trial], report: Report) -> list[Trial]:
    for trial in trials:
        report(trial)
    return trials


__all__ = [
    "DATASET",
    "kill_all_at_rest",
    "kill_all_mid_load",
    "kill_all_mid_stream",
    "kill_each_service",
    "platform_down_up",
]
