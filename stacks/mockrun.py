"""Run the stack program under the Pulumi SDK mock runtime (no CLI, no cloud, no Docker) and record what it
declares: every resource (type, name, inputs with secrets still marked) and the resolved stack outputs.
Used by `stacks.plan` and the unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

from stacks.config import PROJECT, file_config

REPO_ROOT = Path(__file__).resolve().parent.parent
INTERNAL_INPUTS = frozenset({"__provider"})
SECRET = "[secret]"
PLACEHOLDER_SECRET = "plan-placeholder-secret"


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]  # secret values replaced by SECRET
    custom: bool


@dataclass
class Run:
    stack: str
    resources: list[Declared] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # secret outputs replaced by SECRET
    raw_outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Declared:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]


def redact(value: Any) -> Any:
    """Inputs as the mock monitor got them, with every secret (however nested) shown as SECRET."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k not in INTERNAL_INPUTS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs as state, adding the few computed outputs the program reads (ARNs, key secrets)."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.run.resources.append(Declared(args.typ, args.name, redact(dict(args.inputs)), bool(args.custom)))
        state = dict(args.inputs)
        state.pop("__provider", None)
        if args.typ == "aws:s3/bucket:Bucket":
            state["arn"] = f"arn:aws:s3:::{args.inputs.get('bucket')}"
        if args.typ == "aws:iam/accessKey:AccessKey":
            state["secret"] = "mock-secret-access-key"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def stack_config(stack: str, root: Path = REPO_ROOT) -> tuple[dict[str, str], list[str]]:
    """`Pulumi.<stack>.yaml` as runtime config; `secure:` values become placeholders (no secrets provider here)."""
    config, secure = file_config(stack, root)
    return {k: PLACEHOLDER_SECRET if k in secure else v for k, v in config.items()}, secure


def run_stack(stack: str, config: dict[str, str] | None = None, secret_keys: list[str] | None = None) -> Run:
    """Run the program of `stack` (config from Pulumi.<stack>.yaml unless given) and record it."""
    if config is None:
        config, secret_keys = stack_config(stack)

    from stacks.config import from_pulumi
    from stacks.program import build

    return run_program(stack, lambda: build(from_pulumi()), config, secret_keys)


def run_program(
    stack: str,
    program: Callable[[], dict[str, Any]],
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
) -> Run:
    """Run any program that returns its outputs (a whole stack, or one component in a test)."""
    run = Run(stack)
    pulumi.runtime.set_all_config(config or {}, secret_keys or [])
    pulumi.runtime.set_mocks(RecordingMocks(run), project=PROJECT, stack=stack, preview=False)

    async def resolve(outputs: dict[str, Any]) -> None:
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            resolved, is_secret = await output.future(), await output.is_secret()
            run.raw_outputs[key] = resolved
            run.outputs[key] = SECRET if is_secret else resolved
            if is_secret:
                run.secret_outputs.add(key)

    pulumi.runtime.test(lambda: asyncio.ensure_future(resolve(program())))()
    return run
