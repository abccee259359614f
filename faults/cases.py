"""The fault cases. Each trial crashes something at a random moment, lets the product recover the way a user
would (run the load again, start the server again), then counts the source's keys in the target.

The loads and the producer run as the CLIs a user runs (`python -m loaders load`, `python -m pipelines
produce`), in subprocesses, so kill -9 hits a real process with real buffers in flight."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from devstack.process import write_private
from faults import tally
from faults.platform import service, up_stack
from faults.tally import Tally
from pipelines.streaming.sink import end_offsets

#: the dataset every load case moves: the largest, and every sink has a target for it
DATASET = "transactions"
#: the devstack service behind each load target
TARGET_SERVICES = {"mongodb": "ferretdb", "firestore": "firestore", "dynamodb": "dynamodb", "kafka": "kafka"}


@dataclass(frozen=True)
class AtKill:
    """Where the work stood the moment the kill landed: whether the run was still going, what the target held (or
    the topic, or the lake) and, for Kafka, how many keys the run's checkpoint held."""

    running: bool
    held: int
    source: int
    checkpointed: int | None = None

    @property
    def inside(self) -> bool:
        """The kill landed strictly inside the work: the run was going, some records were written, not all."""
        return self.running and 0 < self.held < self.source

    def __str__(self) -> str:
        state = "killed mid-run" if self.running else "the run had ended"
        ckpt = "" if self.checkpointed is None else f", {self.checkpointed:,} keys checkpointed"
        return f"{state}: {self.held:,} of {self.source:,} written{ckpt}"


@dataclass(frozen=True)
class Trial:
    case: str
    trial: int
    tally: Tally
    note: str
    failure: str = ""  # what went wrong besides the counts (an exit status, an error that was not one line)
    at_kill: AtKill | None = None  # cases that kill something mid-run: where the run stood at the kill

    @property
    def ok(self) -> bool:
        return self.tally.exact and not self.failure


@dataclass
class Workspace:
    """The converted source, the outputs file the CLIs read, and a folder per trial."""

    root: Path
    source: Path  # converted JSON lines, <dataset>.jsonl
    outputs: dict[str, Any]
    rng: random.Random
    timings: dict[str, float] = field(default_factory=dict)  # case -> seconds of one uninterrupted run
    #: seconds between two records of the Kafka load and the producer (0: as fast as they go). A small source
    #: crosses Kafka in milliseconds, before any kill could land: pacing it keeps the kill inside the run.
    pace: float = 0.0

    def outputs_file(self, outputs: dict[str, Any]) -> Path:
        """The outputs (they hold the emulators' keys) in a 0600 file."""
        path = self.root / f"outputs-{uuid.uuid4().hex[:8]}.json"
        import json

        write_private(path, json.dumps(outputs))
        return path

    def trial_dir(self, case: str, trial: int, dataset: str = DATASET) -> Path:
        """A fresh folder with the dataset's JSON lines: its own `_state` (Kafka checkpoint) and `_rejected`."""
        folder = self.root / case / f"trial-{trial}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copyfile(self.source / f"{dataset}.jsonl", folder / f"{dataset}.jsonl")
        return folder

    def keys(self, dataset: str = DATASET) -> set[str]:
        import json

        from schemas import load as load_schema

        schema = load_schema(dataset)
        lines = (self.source / f"{dataset}.jsonl").read_text(encoding="utf-8").splitlines()
        return {schema.document_id(json.loads(line)) for line in lines if line.strip()}

    def kill_point(self, source: int) -> int:
        """A random number of records after which a kill lands: past the first, before the last quarter (the
        target is polled, and a batch or two may land between a poll and the kill)."""
        return self.rng.randint(1, source * 3 // 4)


def load_command(
    target: str, outputs_path: Path, source_dir: Path, dataset: str = DATASET, pace: float = 0.0
) -> list[str]:
    paced = ["--mode", "streaming", "--interval", str(pace)] if pace else []
    return [sys.executable, "-m", "loaders", "load", "-d", target, "--dataset", dataset, "--outputs",
            str(outputs_path), "--source", str(source_dir), "--no-progress", "--no-count", *paced]  # fmt: skip


def produce_command(outputs_path: Path, source: Path, dataset: str, interval: float) -> list[str]:
    """The stream: `source` one record at a time into Kafka, resuming from its checkpoint in the source's folder."""
    return [sys.executable, "-m", "loaders", "load", "-d", "kafka", "--dataset", dataset, "--outputs",
            str(outputs_path), "--source", str(source.parent), "--no-progress", "--no-count", "--mode", "streaming",
            "--interval", str(interval)]  # fmt: skip


#: a re-run that takes this much longer than an uninterrupted run has hung
HUNG_FACTOR, HUNG_FLOOR_S = 4.0, 60.0


def run(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`command`'s exit status and output; a hang past `timeout` is exit status None (the process is killed)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return subprocess.CompletedProcess(command, None, "", f"{stderr}\nno answer within {timeout:.0f}s")  # type: ignore[arg-type]


def timed(command: list[str]) -> float:
    started = time.monotonic()
    done = run(command)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:5])}: exit {done.returncode}: {last_line(done.stderr)}")
    return time.monotonic() - started


def checkpointed(folder: Path) -> int:
    """Records a Kafka run in `folder` has written to its checkpoint so far (its key lines: sent in a section
    the run commits once they are settled, or found on the topic)."""
    text = "".join(path.read_text(encoding="utf-8") for path in folder.rglob("*.delivered"))
    return sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#"))


def wait_for_progress(
    proc: subprocess.Popen[Any], progress: Callable[[], int], records: int, timeout: float = 120
) -> bool:
    """Until `progress()` reaches `records` (a random point of the run's writes, not of its start-up) or the run
    ends; whether the run is still going."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if progress() >= records:
            break
        time.sleep(0.01)
    return proc.poll() is None


def kill_at_progress(command: list[str], progress: Callable[[], int], records: int) -> bool:
    """Run `command` and kill -9 it once `progress()` reaches `records`; whether it was still running then."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = wait_for_progress(proc, progress, records)
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def _distinct_on_topic(outputs: dict[str, Any], topic: str, since: dict[int, int]) -> int:
    return len(set(tally.kafka_keys(outputs, topic, since)))


def kafka_at_kill(running: bool, outputs: dict[str, Any], topic: str, since: dict[int, int], source: int,
                  folder: Path) -> AtKill:  # fmt: skip
    return AtKill(running, _distinct_on_topic(outputs, topic, since), source, checkpointed(folder))


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def restart(name: str) -> None:
    """kill -9 and start again through devstack's `up`, which provisions what an in-memory server forgot."""
    from devstack.platform import Platform

    service(name).kill()
    Platform().up([name], report=lambda message: None)


# --- kill -9 mid-load, then the same load again -------------------------------------------------------------
class LoadTarget:
    """One sink's private target for a trial and how to count it."""

    def __init__(self, target: str, outputs: dict[str, Any]) -> None:
        self.target, self.outputs = target, outputs
        self.name = ""
        self.since: dict[int, int] = {}

    def prepare(self) -> dict[str, Any]:
        """Outputs naming an empty target: a collection of its own (MongoDB, Firestore), the dataset's table
        emptied (DynamoDB: devstack provisions the tables), the topic's offsets now (Kafka)."""
        mine = {**self.outputs}
        if self.target in ("mongodb", "firestore"):
            key = f"{self.target}_collections"
            self.name = f"faults-{DATASET}-{uuid.uuid4().hex[:8]}"
            mine[key] = {**self.outputs[key], DATASET: self.name}
        elif self.target == "dynamodb":
            tally.delete_dynamodb(self.outputs, DATASET)
        else:
            self.name = self.outputs["kafka_topics"][DATASET]
            self.since = end_offsets(self.outputs, self.name)
        return mine

    def held(self) -> int:
        """Records the target holds now (polled while a load runs, so the kill lands at a point of its writes)."""
        if self.target == "mongodb":
            return tally.mongodb_count(self.outputs, self.name)
        if self.target == "firestore":
            return tally.firestore_count(self.outputs, self.name)
        if self.target == "dynamodb":
            return tally.dynamodb_count(self.outputs, DATASET)
        return len(set(tally.kafka_keys(self.outputs, self.name, self.since)))

    def count(self, keys: set[str]) -> Tally:
        if self.target == "mongodb":
            return tally.tally(keys, tally.mongodb_keys(self.outputs, self.name))
        if self.target == "firestore":
            return tally.tally(keys, tally.firestore_keys(self.outputs, self.name, keys))
        if self.target == "dynamodb":
            return tally.tally(keys, tally.dynamodb_keys(self.outputs, DATASET))
        return tally.tally(keys, tally.kafka_keys(self.outputs, self.name, self.since))

    def clean(self) -> None:
        if self.target == "mongodb":
            tally.drop_mongodb(self.outputs, self.name)


def kill_mid_load(work: Workspace, target: str, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    case = f"kill -9 mid-load: {target}"
    keys = work.keys()
    sink = LoadTarget(target, work.outputs)
    pace = work.pace if target == "kafka" else 0.0
    if case not in work.timings:  # one uninterrupted load: how long a whole run takes, for the hang guard below
        path = work.outputs_file(sink.prepare())
        work.timings[case] = timed(load_command(target, path, work.trial_dir(case, 0), pace=pace))
        sink.clean()
    results = []
    for number in range(1, trials + 1):
        path = work.outputs_file(sink.prepare())
        source_dir = work.trial_dir(case, number)
        command = load_command(target, path, source_dir, pace=pace)
        if target == "kafka":  # a random point of its deliveries, read from its checkpoint
            running = kill_at_progress(command, partial(checkpointed, source_dir), work.kill_point(len(keys)))
            at_kill = kafka_at_kill(running, work.outputs, sink.name, sink.since, len(keys), source_dir)
        else:  # a random point of its writes, read from the target
            running = kill_at_progress(command, sink.held, work.kill_point(len(keys)))
            at_kill = AtKill(running, sink.held(), len(keys))
        again = run(command, timeout=max(HUNG_FLOOR_S, HUNG_FACTOR * work.timings[case]))
        failure = "" if again.returncode == 0 else f"re-run exit {again.returncode}: {last_line(again.stderr)}"
        if again.returncode is None:  # the server stopped answering: restart it, so the next trials can run
            restart(TARGET_SERVICES[target])
            failure = f"re-run hung; {TARGET_SERVICES[target]} restarted to go on"
        note = f"{at_kill}; re-run exit {again.returncode}"
        trial = Trial(case, number, sink.count(keys), note, failure, at_kill)
        sink.clean()
        report(trial)
        results.append(trial)
    return results


# --- the stream (`loaders load --mode streaming`) killed -9, then run again -----------------------------------
def kill_mid_produce(work: Workspace, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    case = "kill -9 mid-produce: loaders load --mode streaming"
    keys, topic = work.keys(), work.outputs["kafka_topics"][DATASET]
    path = work.outputs_file(work.outputs)

    def command(folder: Path) -> list[str]:
        return produce_command(path, folder / f"{DATASET}.jsonl", DATASET, work.pace)

    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number)
        since = end_offsets(work.outputs, topic)
        running = kill_at_progress(command(folder), partial(checkpointed, folder), work.kill_point(len(keys)))
        at_kill = kafka_at_kill(running, work.outputs, topic, since, len(keys), folder)
        again = run(command(folder))
        failure = "" if again.returncode == 0 else f"re-run exit {again.returncode}: {last_line(again.stderr)}"
        found = tally.kafka_keys(work.outputs, topic, since)
        note = f"{at_kill}; re-run exit {again.returncode}"
        trial = Trial(case, number, tally.tally(keys, found), note, failure, at_kill)
        report(trial)
        results.append(trial)
    return results


# --- the broker killed -9 and started again while the producer streams ----------------------------------------
def kill_broker_mid_produce(work: Workspace, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    case = "broker kill -9 + restart mid-produce"
    keys, topic, broker = work.keys(), work.outputs["kafka_topics"][DATASET], service("kafka")
    path = work.outputs_file(work.outputs)
    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number)
        since = end_offsets(work.outputs, topic)
        command = produce_command(path, folder / f"{DATASET}.jsonl", DATASET, work.pace)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running = wait_for_progress(proc, partial(checkpointed, folder), work.kill_point(len(keys)))
        broker.kill()
        down = time.monotonic()
        broker.start()
        outage = time.monotonic() - down
        at_kill = kafka_at_kill(running, work.outputs, topic, since, len(keys), folder)
        first = proc.wait(timeout=600)
        note = f"broker killed, {at_kill}, back in {outage:.1f}s; producer exit {first}"
        failure = ""
        if first != 0:  # records it could not deliver are named in its quarantine: the re-run resumes them
            again = run(command)
            note += f", re-run exit {again.returncode}"
            failure = "" if again.returncode == 0 else f"re-run: {last_line(again.stderr)}"
        found = tally.kafka_keys(work.outputs, topic, since)
        trial = Trial(case, number, tally.tally(keys, found), note, failure, at_kill)
        report(trial)
        results.append(trial)
    return results


#: seconds the producer streams the S3 sink's dataset for: long enough for a kill to land inside the stream
STREAM_S = 8.0


# --- the broker frozen past the producer's message timeout: outcomes unknown, checked against the topic ---------
def broker_outage_past_the_timeout(work: Workspace, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    """SIGSTOP holds the broker's connections open while it answers nothing, for longer than the producer's
    message timeout; the requests it had received are written once it runs again. The producer must count
    those as delivered (found on the topic), fail only what the topic lacks, and a re-run complete the rest."""
    from loaders.sinks.kafka_producer import MESSAGE_TIMEOUT_S

    case = "broker frozen past the message timeout"
    keys, topic, broker = work.keys(), work.outputs["kafka_topics"][DATASET], service("kafka")
    path = work.outputs_file(work.outputs)
    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number)
        since = end_offsets(work.outputs, topic)
        command = produce_command(path, folder / f"{DATASET}.jsonl", DATASET, work.pace)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        running = wait_for_progress(proc, partial(checkpointed, folder), work.kill_point(len(keys)))
        broker.pause()
        when = "mid-run" if running else "after the run ended"
        time.sleep(MESSAGE_TIMEOUT_S + 5)
        broker.pause(False)
        _out, err = proc.communicate(timeout=600)
        summary = next((line for line in err.splitlines() if "delivered" in line), last_line(err))
        note = f"frozen {when} for {MESSAGE_TIMEOUT_S + 5}s; producer exit {proc.returncode}: {summary.strip()}"
        failure = ""
        if proc.returncode != 0:
            again = run(command)
            note += f"; re-run exit {again.returncode}"
            failure = "" if again.returncode == 0 else f"re-run: {last_line(again.stderr)}"
        trial = Trial(case, number, tally.tally(keys, tally.kafka_keys(work.outputs, topic, since)), note, failure)
        report(trial)
        results.append(trial)
    return results


# --- the Connect worker killed -9 and started again while the S3 sink streams to the lake -----------------------
def kill_connect_mid_stream(
    work: Workspace, trials: int, report: Callable[[Trial], None], settle_s: float = 120.0
) -> list[Trial]:
    case = "Connect kill -9 + restart mid-stream (lake)"
    topic = work.outputs["s3_sink"]["topics"][0]
    dataset = next(d for d, t in work.outputs["kafka_topics"].items() if t == topic)
    keys, worker = work.keys(dataset), service("connect")
    path = work.outputs_file(work.outputs)
    interval = STREAM_S / len(keys)  # the stream lasts STREAM_S whatever the size, so a kill lands inside it
    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number, dataset)
        started_at, since = time.time(), end_offsets(work.outputs, topic)
        source = folder / f"{dataset}.jsonl"
        proc = subprocess.Popen(
            produce_command(path, source, dataset, interval),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        on_topic = partial(_distinct_on_topic, work.outputs, topic, since)
        started = time.monotonic()
        running = wait_for_progress(proc, on_topic, work.kill_point(len(keys)))  # a random point of the stream
        moment = time.monotonic() - started
        worker.kill()
        # the stream's progress at the kill: what the topic held of it, so what the sink had yet to land
        at_kill = AtKill(running, on_topic(), len(keys))
        down = time.monotonic()
        worker.start()
        outage = time.monotonic() - down
        produced = proc.wait(timeout=600)
        found = wait_for_lake(work.outputs, topic, dataset, since, len(keys), settle_s, started_at)
        note = (
            f"worker killed at {moment:.2f}s, {at_kill} on the topic, back in {outage:.1f}s; producer exit {produced}"
        )
        failure = "" if produced == 0 else "the producer failed"
        trial = Trial(case, number, tally.tally(keys, found), note, failure, at_kill)
        report(trial)
        results.append(trial)
    return results


def wait_for_lake(
    outputs: dict[str, Any],
    topic: str,
    dataset: str,
    since: dict[int, int],
    expected: int,
    timeout: float,
    written_since: float = 0.0,
) -> list[str]:
    """The lake's keys once it holds `expected` records and two reads 5 s apart agree (re-deliveries after a
    restart land a while later), or at `timeout`."""
    deadline = time.monotonic() + timeout
    found = tally.lake_keys(outputs, topic, dataset, since, written_since)
    while time.monotonic() < deadline:
        time.sleep(5)
        again = tally.lake_keys(outputs, topic, dataset, since, written_since)
        if len(again) >= expected and len(again) == len(found):
            return again
        found = again
    return found


# --- the schema registry down when a load starts -------------------------------------------------------------
def registry_down_during_load(work: Workspace, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    """The load must stop at once in one line naming the registry, having sent nothing; once the registry is
    back (in memory: the stack declares its subjects again), the same load completes, each record once."""
    case = "registry down during a load"
    keys, topic, registry = work.keys(), work.outputs["kafka_topics"][DATASET], service("registry")
    path = work.outputs_file(work.outputs)
    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number)
        since = end_offsets(work.outputs, topic)
        command = load_command("kafka", path, folder)
        registry.kill()
        started = time.monotonic()
        down = run(command)
        seconds = time.monotonic() - started
        registry.start()
        up_stack()
        again = run(command)
        lines = [line for line in down.stderr.splitlines() if line.strip()]
        failures = []
        if down.returncode == 0 or len(lines) != 1 or "schema registry" not in lines[0]:
            failures.append(f"while down: exit {down.returncode}, {len(lines)} line(s): {last_line(down.stderr)}")
        if again.returncode != 0:
            failures.append(f"re-run exit {again.returncode}: {last_line(again.stderr)}")
        note = f"while down: exit {down.returncode} in {seconds:.1f}s, {lines[-1] if lines else ''!r}; " + (
            f"registry back, re-run exit {again.returncode}"
        )
        trial = Trial(case, number, tally.tally(keys, tally.kafka_keys(work.outputs, topic, since)), note,
                      "; ".join(failures))  # fmt: skip
        report(trial)
        results.append(trial)
    return results
