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
#: a kill lands this far into a full run, at random: from the CLI's start-up to its last writes
KILL_WINDOW = (0.05, 0.95)
#: the devstack service behind each load target
TARGET_SERVICES = {"mongodb": "ferretdb", "firestore": "firestore", "dynamodb": "moto", "kafka": "kafka"}


@dataclass(frozen=True)
class Trial:
    case: str
    trial: int
    tally: Tally
    note: str
    failure: str = ""  # what went wrong besides the counts (an exit status, an error that was not one line)

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

    def kill_moment(self, case: str) -> float:
        low, high = KILL_WINDOW
        return self.rng.uniform(low, high) * self.timings[case]


def load_command(target: str, outputs_path: Path, source_dir: Path, dataset: str = DATASET) -> list[str]:
    return [sys.executable, "-m", "loaders", "load", "-d", target, "--dataset", dataset, "--outputs",
            str(outputs_path), "--source", str(source_dir), "--no-progress", "--no-count"]  # fmt: skip


def produce_command(outputs_path: Path, source: Path, dataset: str, checkpoint: Path, interval: float) -> list[str]:
    return [sys.executable, "-m", "pipelines", "produce", "--outputs", str(outputs_path), "--dataset", dataset,
            "--source-path", str(source), "--checkpoint", str(checkpoint), "--quarantine",
            str(checkpoint.with_suffix(".rejected.jsonl")), "--streaming-interval", str(interval)]  # fmt: skip


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


def kill_after(command: list[str], seconds: float) -> str:
    """Start `command`, SIGKILL it `seconds` later; what happened, for the table."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=seconds)
        return f"finished before the kill at {seconds:.2f}s"
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return f"killed -9 at {seconds:.2f}s"


def checkpointed(folder: Path) -> int:
    """Records a Kafka run in `folder` has written to its checkpoint so far (its key lines: sent in a section
    the run commits once they are settled, or found on the topic)."""
    text = "".join(path.read_text(encoding="utf-8") for path in folder.rglob("*.delivered")) + "".join(
        path.read_text(encoding="utf-8") for path in folder.glob("checkpoint")
    )
    return sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#"))


def wait_for_progress(proc: subprocess.Popen[Any], folder: Path, records: int, timeout: float = 120) -> str:
    """Until the run in `folder` has `records` in its checkpoint (a random point of its delivery, not of its start-up),
    or it ends; what happened, for the table."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if checkpointed(folder) >= records:
            return f"after {records:,} in its checkpoint"
        time.sleep(0.01)
    return f"the run ended before {records:,} were in its checkpoint"


def records_since(outputs: dict[str, Any], topic: str, since: dict[int, int]) -> int:
    return len(tally.kafka_keys(outputs, topic, since))


def kill_at_progress(command: list[str], folder: Path, records: int, on_topic: Callable[[], int]) -> str:
    """Kill -9 once `records` are in the checkpoint; the note says how many the topic and the checkpoint hold."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    when = wait_for_progress(proc, folder, records)
    if proc.poll() is not None:
        return when
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the checkpoint's keys include the last section's, which the run had not committed: the resume drops them
    # and reads the topic's tail instead
    return f"killed -9 {when}, {on_topic():,} on the topic, {checkpointed(folder):,} keys in the checkpoint"


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
    if case not in work.timings:  # one uninterrupted load: how long a whole run takes, where kills may land
        path = work.outputs_file(sink.prepare())
        work.timings[case] = timed(load_command(target, path, work.trial_dir(case, 0)))
        sink.clean()
    results = []
    for number in range(1, trials + 1):
        path = work.outputs_file(sink.prepare())
        source_dir = work.trial_dir(case, number)
        command = load_command(target, path, source_dir)
        if target == "kafka":  # a random point of its deliveries, read from its checkpoint
            since = sink.since
            note = kill_at_progress(
                command,
                source_dir,
                work.rng.randint(1, len(keys) * 9 // 10),
                partial(records_since, work.outputs, sink.name, since),
            )
        else:
            note = kill_after(command, work.kill_moment(case))
        again = run(command, timeout=max(HUNG_FLOOR_S, HUNG_FACTOR * work.timings[case]))
        failure = "" if again.returncode == 0 else f"re-run exit {again.returncode}: {last_line(again.stderr)}"
        if again.returncode is None:  # the server stopped answering: restart it, so the next trials can run
            restart(TARGET_SERVICES[target])
            failure = f"re-run hung; {TARGET_SERVICES[target]} restarted to go on"
        trial = Trial(case, number, sink.count(keys), f"{note}; re-run exit {again.returncode}", failure)
        sink.clean()
        report(trial)
        results.append(trial)
    return results


# --- `pipelines produce --checkpoint` killed -9, then run again -----------------------------------------------
def kill_mid_produce(work: Workspace, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    case = "kill -9 mid-produce: pipelines produce"
    keys, topic = work.keys(), work.outputs["kafka_topics"][DATASET]
    path = work.outputs_file(work.outputs)

    def command(folder: Path) -> list[str]:
        return produce_command(path, folder / f"{DATASET}.jsonl", DATASET, folder / "checkpoint", 0.0)

    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number)
        since = end_offsets(work.outputs, topic)
        note = kill_at_progress(
            command(folder),
            folder,
            work.rng.randint(1, len(keys) * 9 // 10),
            partial(records_since, work.outputs, topic, since),
        )
        again = run(command(folder))
        failure = "" if again.returncode == 0 else f"re-run exit {again.returncode}: {last_line(again.stderr)}"
        found = tally.kafka_keys(work.outputs, topic, since)
        trial = Trial(case, number, tally.tally(keys, found), f"{note}; re-run exit {again.returncode}", failure)
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
        command = produce_command(path, folder / f"{DATASET}.jsonl", DATASET, folder / "checkpoint", 0.0)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        when = wait_for_progress(proc, folder, work.rng.randint(1, len(keys) * 9 // 10))
        broker.kill()
        down = time.monotonic()
        broker.start()
        outage = time.monotonic() - down
        first = proc.wait(timeout=600)
        note = f"broker killed {when}, back in {outage:.1f}s; producer exit {first}"
        failure = ""
        if first != 0:  # records it could not deliver are named in its quarantine: the re-run resumes them
            again = run(command)
            note += f", re-run exit {again.returncode}"
            failure = "" if again.returncode == 0 else f"re-run: {last_line(again.stderr)}"
        trial = Trial(case, number, tally.tally(keys, tally.kafka_keys(work.outputs, topic, since)), note, failure)
        report(trial)
        results.append(trial)
    return results


#: seconds the producer streams the S3 sink's dataset for, and about how long its CLI takes to start
STREAM_S, PRODUCER_START_S = 8.0, 1.5


# --- the broker frozen past the producer's message timeout: outcomes unknown, checked against the topic ---------
def broker_outage_past_the_timeout(work: Workspace, trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    """SIGSTOP holds the broker's connections open while it answers nothing, for longer than the producer's
    message timeout; the requests it had received are written once it runs again. The producer must count
    those as delivered (found on the topic), fail only what the topic lacks, and a re-run complete the rest."""
    from loaders.sinks.kafka import MESSAGE_TIMEOUT_S

    case = "broker frozen past the message timeout"
    keys, topic, broker = work.keys(), work.outputs["kafka_topics"][DATASET], service("kafka")
    path = work.outputs_file(work.outputs)
    results = []
    for number in range(1, trials + 1):
        folder = work.trial_dir(case, number)
        since = end_offsets(work.outputs, topic)
        command = produce_command(path, folder / f"{DATASET}.jsonl", DATASET, folder / "checkpoint", 0.0)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        when = wait_for_progress(proc, folder, work.rng.randint(1, len(keys) * 9 // 10))
        broker.pause()
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
        since = end_offsets(work.outputs, topic)
        source = folder / f"{dataset}.jsonl"
        proc = subprocess.Popen(
            produce_command(path, source, dataset, folder / "checkpoint", interval),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        moment = PRODUCER_START_S + work.rng.uniform(0.05, 0.95) * STREAM_S
        time.sleep(moment)
        worker.kill()
        down = time.monotonic()
        worker.start()
        outage = time.monotonic() - down
        produced = proc.wait(timeout=600)
        found = wait_for_lake(work.outputs, topic, dataset, since, len(keys), settle_s)
        note = f"worker killed at {moment:.2f}s, back in {outage:.1f}s; producer exit {produced}"
        trial = Trial(case, number, tally.tally(keys, found), note, "" if produced == 0 else "the producer failed")
        report(trial)
        results.append(trial)
    return results


def wait_for_lake(
    outputs: dict[str, Any], topic: str, dataset: str, since: dict[int, int], expected: int, timeout: float
) -> list[str]:
    """The lake's keys once it holds `expected` records and two reads 5 s apart agree (re-deliveries after a
    restart land a while later), or at `timeout`."""
    deadline = time.monotonic() + timeout
    found = tally.lake_keys(outputs, topic, dataset, since)
    while time.monotonic() < deadline:
        time.sleep(5)
        again = tally.lake_keys(outputs, topic, dataset, since)
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
