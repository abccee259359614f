"""Pulumi entry point (`Pulumi.yaml`: `main: stacks/`): read the typed config, declare, export the contract."""

import sys
from pathlib import Path

import pulumi

# Pulumi runs this file by path: make the repository's packages importable without an install.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from stacks.config import from_pulumi  # noqa: E402
from stacks.program import build  # noqa: E402

for _key, _value in build(from_pulumi()).items():
    pulumi.export(_key, _value)
