from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

#: what the `devstack` stack declares its platform objects on (topics, subjects, S3 sink, Airflow settings)
STACK_SERVICES = ("kafka", "registry", "connect", "airflow")


@pytest.fixture(scope="session")
def devstack() -> Iterator[Callable[..., dict[str, Any]]]:
    """`devstack("kafka", "registry")` starts those real local services (once per session) and returns devstack's
    substrate outputs; services this session started are stopped at its end."""
    from devstack.testing import SessionServices

    services = SessionServices()
    yield services
    services.teardown()


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
