"""Where the screen finds the platform: the stack's outputs (the Pulumi state, read through contract), else the
substrate devstack wrote (enough for every endpoint; the stack's own names then come from contract.naming)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract import naming
from contract.outputs import OutputsError, read_outputs
from contract.s3_sink import DEAD_LETTER_TOPIC
from demo.status.section import Unreadable
from devstack.config import DevstackConfig
from devstack.outputs import outputs_file


@dataclass
class Sources:
    stack: str
    cfg: DevstackConfig
    outputs: dict[str, Any] = field(repr=False)
    #: what `outputs` are: "stack devstack", "outputs file F" or "devstack's substrate file F"
    origin: str
    #: why the stack's outputs were not used (one line), None when they were
    note: str | None = None

    def endpoint(self, key: str, service: str) -> str:
        value = self.outputs.get(key)
        if not value:
            where = f"in {self.origin}" if self.outputs else "known: neither stack outputs nor devstack's outputs file"
            raise Unreadable(f"{service}: no {key} {where} (`make up` writes them)")
        return str(value)

    @property
    def connector(self) -> str:
        sink = self.outputs.get("s3_sink") or {}
        return str(sink.get("connector") or naming.S3_SINK_CONNECTOR)

    @property
    def sink_topics(self) -> list[str]:
        sink = self.outputs.get("s3_sink") or {}
        return list(sink.get("topics") or [])

    @property
    def stack_topics(self) -> set[str]:
        return {*(self.outputs.get("kafka_topics") or {}).values(), DEAD_LETTER_TOPIC}


def load(stack: str, outputs: Path | None = None, cfg: DevstackConfig | None = None) -> Sources:
    """The stack's outputs (or the `outputs` file); when they cannot be read, devstack's substrate file."""
    cfg = cfg or DevstackConfig.from_env()
    try:
        if outputs is not None:
            return Sources(stack, cfg, dict(read_outputs(outputs_file=outputs)), f"outputs file {outputs}")
        return Sources(stack, cfg, dict(read_outputs(stack=stack)), f"stack {stack}")
    except OutputsError as exc:
        note = str(exc)
    substrate = outputs_file(cfg)
    try:
        data = json.loads(substrate.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return Sources(stack, cfg, {}, "no outputs", f"{note}; and no devstack outputs at {substrate} (`make up`)")
    return Sources(stack, cfg, data, f"devstack's substrate file {substrate}", note)
