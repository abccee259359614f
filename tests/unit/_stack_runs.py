"""Stack runs under the mock runtime, cached per test session (each run costs a mock deployment)."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from contract.outputs import PROJECT
from devstack.config import DEFAULT_PORTS, DevstackConfig
from devstack.outputs import write_outputs
from stacks.mockrun import Run, run_stack, stack_config

#: the `devstack` stack reads devstack's outputs file; the unit tests write one of default ports (no server)
_SUBSTRATE_HOME = Path(tempfile.mkdtemp(prefix="devstack-substrate-"))


def substrate_file() -> Path:
    return write_outputs(DevstackConfig(home=_SUBSTRATE_HOME, ports=dict(DEFAULT_PORTS)))


@cache
def stack_run(stack: str) -> Run:
    config, secret_keys = stack_config(stack)
    if stack == "devstack":
        config[f"{PROJECT}:substrateOutputs"] = str(substrate_file())
    return run_stack(stack, config, secret_keys)


def env_of(run: Run, container: str) -> dict[str, str] | str:
    """A container's environment as a dict, or "[secret]" when the whole env list is secret."""
    envs = run.named(container).inputs.get("envs")
    if isinstance(envs, str):
        return envs
    return dict(item.split("=", 1) for item in envs or [])
