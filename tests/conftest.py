from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _kafka_handles as kafka_handles
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: the suite's devstack listens this far above devstack's default ports
TEST_PORT_OFFSET = 1000


def _own_platform() -> None:
    """The suite runs its own devstack (state under .devstack/test, ports 16000-16070) and its own Pulumi state
    (.pulumi/test), beside the platform `make demo` and `make up` keep: tests load data of their own into the
    stack's topics and collections, and a demo run after them reconciled against it and failed (keys of other
    versions on the topics, extra keys in MongoDB). The install cache is shared. A DEVSTACK_HOME the caller set
    is left as it is, with its ports: that caller chose where the suite's platform lives."""
    if "DEVSTACK_HOME" in os.environ:
        return
    from devstack.config import DEFAULT_PORTS

    os.environ["DEVSTACK_HOME"] = str(REPO_ROOT / ".devstack" / "test")
    os.environ.setdefault("DEVSTACK_INSTALL", str(REPO_ROOT / ".devstack" / "install"))
    os.environ.setdefault("KDE_PULUMI_STATE_DIR", str(REPO_ROOT / ".pulumi" / "test"))
    for name, port in DEFAULT_PORTS.items():
        os.environ.setdefault(f"DEVSTACK_PORT_{name.upper()}", str(port + TEST_PORT_OFFSET))


_own_platform()  # before any test module imports contract.backend, which reads KDE_PULUMI_STATE_DIR once
kafka_handles.install()  # before any test module imports confluent_kafka's clients


@pytest.fixture(autouse=True)
def _pickler_unwrapped() -> None:
    """Each test starts with pickle's own `_batch_setitems` (stacks.engine.unwrap_pickler): pulumi.dynamic wraps it
    once more for every provider it serializes, and after the engine tests the mock-runtime tests that followed
    failed with RecursionError (50 of them in one run)."""
    from stacks.engine import unwrap_pickler

    unwrap_pickler()


@pytest.fixture(scope="session", autouse=True)
def _no_kafka_handle_outlives_the_suite() -> Iterator[None]:
    """Fails the run when a Kafka client (Producer, Consumer, AdminClient) the suite's process opened was left open:
    still open at the end, or freed only by the garbage collector. Until then its librdkafka threads reconnect to
    the suite's stopped Kafka and print a line each time. Set up before the `devstack` fixture, so this runs after
    its teardown."""
    yield
    leaked = kafka_handles.leaks()
    if leaked:
        pytest.fail(
            f"{len(leaked)} Kafka client(s) the suite opened were not closed: {'; '.join(leaked)}", pytrace=False
        )


#: what the `devstack` stack declares its platform objects on (topics, subjects, S3 sink, Airflow settings)
STACK_SERVICES = ("kafka", "registry", "connect", "airflow")


#: children the interpreter keeps until it exits, which no test started: multiprocessing's helpers
_INTERPRETER_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_suite() -> Iterator[set[int]]:
    """Fails the run when a process the suite started is still alive at its end (a producer, a server, a CLI a
    test forgot), after the session's own devstack services are stopped: the `devstack` fixture depends on this
    one, so its teardown runs first, and puts into the set this yields the pids of the services it leaves running
    on purpose (DEVSTACK_KEEP=1, or running before the session). What is found is named, then killed."""
    import psutil

    kept: set[int] = set()
    yield kept
    me = psutil.Process()
    leaked = []
    for child in me.children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE or child.pid in kept or _kept_group(child, kept):
                continue
            command = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if not any(helper in command for helper in _INTERPRETER_HELPERS):
            leaked.append((child, command))
    for child, _ in leaked:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    if leaked:
        names = "; ".join(f"pid {child.pid}: {command[:200]}" for child, command in leaked)
        pytest.fail(f"{len(leaked)} process(es) the suite started outlived it (now killed): {names}", pytrace=False)


def _kept_group(child: Any, kept: set[int]) -> bool:
    """A process of a kept service's process group (a service's own children, e.g. a JVM under a wrapper)."""
    try:
        return os.getpgid(child.pid) in kept
    except ProcessLookupError:
        return False


@pytest.fixture(scope="session")
def devstack(_no_process_outlives_the_suite: set[int]) -> Iterator[Callable[..., dict[str, Any]]]:
    """`devstack("kafka", "registry")` starts those real local services (once per session) and returns devstack's
    substrate outputs; services this session started are stopped at its end."""
    from devstack.testing import SessionServices

    services = SessionServices()
    yield services
    services.teardown()
    _no_process_outlives_the_suite.update(services.running_pids())


@pytest.fixture(scope="session")
def platform(devstack: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """`platform("moto", "ferretdb")` starts those services and the ones the stack needs, runs `up` of the
    `devstack` stack on the real Pulumi engine (once per session, this checkout's backend, as `make up` does)
    and returns the stack outputs: what loaders and pipelines read."""
    state: dict[str, Any] = {}

    def outputs(*names: str) -> dict[str, Any]:
        devstack(*names, *STACK_SERVICES)
        if "outputs" not in state:
            from devstack.config import DevstackConfig
            from stacks.engine import outputs_of, select_stack

            # the substrate this session's devstack wrote (DEVSTACK_HOME moves it; the default is the stack's own)
            substrate = DevstackConfig.from_env().home / "outputs.json"
            stack = select_stack("devstack", config={"substrateOutputs": str(substrate)})
            stack.up(refresh=True, color="never")
            state["outputs"] = outputs_of(stack)
        result: dict[str, Any] = state["outputs"]
        return result

    return outputs


@pytest.fixture
def outputs_file(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write outputs to a JSON file, as `--outputs FILE` consumers read them."""

    def write(outputs: dict[str, Any]) -> Path:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        return path

    return write
