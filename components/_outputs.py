"""Small Output helpers shared by the components."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi


def output_map(values: Mapping[str, pulumi.Input[Any]]) -> pulumi.Output[dict[str, Any]]:
    """`{key: Output}` -> `Output[{key: value}]`; an empty mapping gives `Output({})` (Output.all() gives [])."""
    if not values:
        return pulumi.Output.from_input({})
    return pulumi.Output.all(**dict(values))  # type: ignore[return-value]
