"""The loader tests' source data: a generated sample converted to JSON lines (cheap: built once per module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loaders.convert import convert_dir
from loaders.generate import generate_dataset


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw, out = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("json")
    generate_dataset(raw, 2000, seed=3)
    assert convert_dir(raw, out).ok
    return out
