"""`pulumi up -s NAME` with a standard CLI runs `stacks/__main__.py` (Pulumi.yaml `main: stacks/`) with the
engine's monitor configured: it must declare the stack program, not start the Automation API runner."""

from __future__ import annotations

import runpy
from collections import Counter
from typing import Any

from contract.outputs import PROJECT
from stacks.config import REPO_ROOT
from stacks.mockrun import run_program, stack_config
from tests.unit._stack_runs import substrate_file


def test_the_entry_point_declares_the_program_when_the_engine_runs_it() -> None:
    config, secret_keys = stack_config("devstack")
    config[f"{PROJECT}:substrateOutputs"] = str(substrate_file())

    def program() -> dict[str, Any]:
        runpy.run_path(str(REPO_ROOT / "stacks" / "__main__.py"), run_name="__main__")
        return {}

    run = run_program("devstack", program, config, secret_keys)
    declared = Counter(r.type for r in run.resources)
    assert declared["pulumi-python:dynamic/kafka:Topic"] == 6  # the datasets' and the S3 sink's dead letters
    assert declared["pulumi-python:dynamic/kafka-connect:Connector"] == 1
    assert declared["pulumi-python:dynamic/airflow:Connection"] == 2
