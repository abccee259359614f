"""The fault cases. Each trial crashes something at a random moment, lets the product recover the way a user
would (run the load again, start the server again), then counts the source's keys in the target.

The loads and the producer run as the CLIs a user runs (`python -m loaders load`, and with `--mode streaming`
for the producer), in subprocesses, so kill -9 hits a real process with real buffers in flight (faults/runs.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from faults import tally
from faults.at_kill import AtKill, checkpointed, distinct_on_topic, kafka_at_kill
from faults.platform import service, up_stack
from faults.runs import (
    HUNG_FACTOR,
    HUNG_FLOOR_S,
    kill_at_progress,
    last_line,
    load_command,
    produce_command,
    restart,
    run,
    timed,
    wait_for_progress,
)
from faults.targets import LoadTarget, wait_for_lake, wait_for_sink_settled
from faults.trial import DATASET, Trial, Workspace
from pipelines.streaming.sink import end_offsets

#: the devstack service behind each load target
TARGET_SERVICES = {"mongodb": "ferretdb", "firestore": "firestore", "dynamodb": "dynamodb", "kafka": "kafka"}


# --- kill -9 mid-load, then the same load again -------------------------------------------------------------
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
        wait_for_sink_settled(work.outputs, topic)
        started_at, since = time.time(), end_offsets(work.outputs, topic)
        source = folder / f"{dataset}.jsonl"
        proc = subprocess.Popen(
            produce_command(path, source, dataset, interval),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        on_topic = partial(distinct_on_topic, work.outputs, topic, since)
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
