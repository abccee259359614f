"""Real-engine tests: the Pulumi CLI built by tools/pulumi/build.sh (`make setup`), a file backend and the
passphrase secrets provider in a temporary folder, inline Automation API programs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pulumi import automation as auto

from contract.backend import PULUMI_BIN
from stacks.engine import select_stack

HERE = Path(__file__).resolve().parent

if not PULUMI_BIN.exists():
    pytest.skip(
        f"the Pulumi CLI is not built ({PULUMI_BIN} missing): run `tools/pulumi/build.sh` or `make setup`",
        allow_module_level=True,
    )


@pytest.fixture
def engine_stack(tmp_path: Path) -> Callable[..., auto.Stack]:
    """`engine_stack(program)`: a fresh stack on a file backend under tmp_path (state: `.state/`)."""

    def make(program: Callable[[], None], stack: str = "test", project: str = "engine-test") -> auto.Stack:
        # the passphrase is the test's own, so the state file check below really tests encryption
        extra = {"PULUMI_CONFIG_PASSPHRASE": "engine-test-passphrase", "PYTHONPATH": str(HERE)}
        return select_stack(stack, program, state_dir=tmp_path / ".state", project=project, extra_env=extra)

    return make
