"""Stack `prod` under the mock runtime, shared by the prod test modules (one cached run per session)."""

from __future__ import annotations

import json
from typing import Any

from stacks.mockrun import Run
from tests.unit._stack_runs import stack_run

REGION = "ap-southeast-7"


def prod() -> Run:
    return stack_run("prod")


def policy(name: str) -> dict[str, Any]:
    """The IAM policy document of the resource `name`."""
    return json.loads(prod().named(name).inputs["policy"])
