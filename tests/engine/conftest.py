"""Real-engine tests: the Pulumi CLI built by tools/pulumi/build.sh (`make setup`), a file backend and the
passphrase secrets provider in a temporary folder, inline Automation API programs; the `devstack` stack's tests
share one devstack of their own (`substrate`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from contract.backend import PULUMI_BIN
from devstack.config import DEFAULT_PORTS, DevstackConfig
from devstack.outputs import outputs_file
from devstack.platform import Platform
from stacks.engine import select_stack

HERE = Path(__file__).resolve().parent
#: what the `devstack` stack declares its objects on, and the S3 sink's target
SERVICES = ["moto", "kafka", "registry", "connect", "airflow"]
#: the engine tests' devstack listens this far above devstack's defaults (17000-17070), clear of the session's
#: own; KDE_ENGINE_PORT_OFFSET moves it, so two runs on one machine do not meet
PORT_OFFSET = int(os.environ.get("KDE_ENGINE_PORT_OFFSET", "2000"))
PASSPHRASE = "engine-test-passphrase"

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
        extra = {"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(HERE)}
        return select_stack(stack, program, state_dir=tmp_path / ".state", project=project, extra_env=extra)

    return make


@pytest.fixture(scope="session")
def substrate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackConfig]:
    """A devstack of the engine tests' own: a fresh home, ports PORT_OFFSET above the defaults, the built
    services shared."""
    home = tmp_path_factory.mktemp("engine-devstack")
    (home / "install").symlink_to(DevstackConfig.from_env().install_dir)  # built once by `make setup`
    cfg = DevstackConfig(home=home, ports={name: port + PORT_OFFSET for name, port in DEFAULT_PORTS.items()})
    platform = Platform(cfg)
    try:  # an `up` that fails has started some of them by then: those are stopped too
        platform.up(SERVICES, report=lambda _msg: None)
        yield cfg
    finally:
        platform.down(SERVICES, report=lambda _msg: None)


@pytest.fixture(scope="session")
def devstack_stack(substrate: DevstackConfig) -> Callable[[Path], auto.Stack]:
    """`devstack_stack(state_dir)`: the `devstack` stack, as `make up` runs it, on `substrate`."""

    def make(state_dir: Path) -> auto.Stack:
        return select_stack(
            "devstack",
            state_dir=state_dir,
            config={"substrateOutputs": str(outputs_file(substrate))},
            extra_env={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE},
        )

    return make
