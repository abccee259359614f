from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def devstack() -> Iterator[Callable[..., dict[str, Any]]]:
    """`devstack("kafka", "registry")` starts those real local services (once per session) and returns the
    stack outputs; services this session started are stopped at its end."""
    from devstack.testing import SessionServices

    services = SessionServices()
    yield services
    services.teardown()


@pytest.fixture
def outputs_file(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write outputs to a JSON file, as `--outputs FILE` consumers read them."""

    def write(outputs: dict[str, Any]) -> Path:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        return path

    return write
