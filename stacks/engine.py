"""The stack program on the real Pulumi engine, for any stack, as an Automation API inline program.

Why inline: the CLI `make setup` builds here has no Python language host (its module is not served), and an
inline program needs none: this Python process hosts the program and the engine calls back into it. With a
standard Pulumi CLI, `pulumi up -s NAME` runs the same program through `stacks/__main__.py`.

The stack's config is `Pulumi.<stack>.yaml`, copied into the stack on every run (so the file stays the one
place to change it); the backend, passphrase and CLI come from contract.backend.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from contract import backend
from contract.outputs import PROJECT, validate_outputs
from stacks.config import REPO_ROOT, file_config


class EngineError(RuntimeError):
    """The engine cannot run here (no CLI, a secure config value it cannot read) or an operation failed."""


#: pickle's own `_Pickler._batch_setitems`, before any dynamic provider was serialized
_PLAIN_BATCH_SETITEMS = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]


def unwrap_pickler() -> None:
    """Undo what pulumi.dynamic's `serialize_provider` leaves behind: it wraps pickle's `_batch_setitems` in a
    sorting wrapper on every call and never restores it, so each dynamic resource serialized in one process adds a
    level, and a process that runs the program many times (the test suite, `python -m faults`) ends in
    RecursionError. Called before each run: the run's own serializations still sort, one level deep."""
    pickle._Pickler._batch_setitems = _PLAIN_BATCH_SETITEMS  # type: ignore[attr-defined]


def default_program() -> None:
    """The stack program (stacks/program.py) exporting the outputs contract."""
    import pulumi

    unwrap_pickler()
    from stacks.config import from_pulumi
    from stacks.program import build

    for key, value in build(from_pulumi()).items():
        pulumi.export(key, value)


def pulumi_command() -> auto.PulumiCommand:
    if not backend.PULUMI_BIN.exists():
        raise EngineError(f"{backend.PULUMI_BIN} not found: build it with `make setup` (tools/pulumi/build.sh)")
    return auto.PulumiCommand(root=str(backend.TOOLS_ROOT))


def stack_config(stack: str, overrides: Mapping[str, str] | None = None) -> dict[str, auto.ConfigValue]:
    """`Pulumi.<stack>.yaml` (plus `overrides`, `key` -> value) as Automation API config values."""
    try:
        config, secure = file_config(stack)
    except FileNotFoundError as exc:
        raise EngineError(str(exc)) from None
    if secure:
        raise EngineError(
            f"Pulumi.{stack}.yaml holds secure value(s) {', '.join(secure)}, encrypted by another secrets "
            f"provider: run this stack with the standard Pulumi CLI (`pulumi up -s {stack}`)"
        )
    for key, value in (overrides or {}).items():
        config[key if ":" in key else f"{PROJECT}:{key}"] = value
    return {key: auto.ConfigValue(value) for key, value in config.items()}


def select_stack(
    stack: str,
    program: Callable[[], None] = default_program,
    *,
    state_dir: Path | None = None,
    project: str = PROJECT,
    config: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> auto.Stack:
    """Create or select `stack` of the inline `program`; its config from Pulumi.<stack>.yaml and `config`.
    A `project` other than ours (tests) gets no config file: only `config`."""
    env = {**backend.engine_env(state_dir), **(extra_env or {})}
    settings = auto.ProjectSettings(name=project, runtime="python")
    if "PULUMI_BACKEND_URL" in env:
        settings.backend = auto.ProjectBackend(url=env["PULUMI_BACKEND_URL"])
    opts = auto.LocalWorkspaceOptions(
        pulumi_home=env.get("PULUMI_HOME"),
        env_vars=env,
        pulumi_command=pulumi_command(),
        secrets_provider="passphrase" if "PULUMI_BACKEND_URL" in env and not backend.uses_own_backend() else None,
        project_settings=settings,
    )
    selected = auto.create_or_select_stack(stack_name=stack, project_name=project, program=program, opts=opts)
    if project == PROJECT:
        selected.set_all_config(stack_config(stack, config))
    elif config:
        selected.set_all_config({k: auto.ConfigValue(v) for k, v in config.items()})
    return selected


def outputs_of(stack: auto.Stack) -> dict[str, Any]:
    """The stack's outputs as the contract has them (Pulumi drops null outputs: they come back as null)."""
    outputs = {key: value.value for key, value in stack.outputs().items()}
    return dict(validate_outputs(outputs, f"stack {stack.name}")) if outputs else outputs


def changes(summary: Mapping[Any, int] | None) -> dict[str, int]:
    """A run's resource changes as {"create": 1, "same": 3} (the engine's op names, not enum members)."""
    return {str(getattr(op, "value", op)): count for op, count in (summary or {}).items()}


__all__ = ["REPO_ROOT", "EngineError", "changes", "default_program", "outputs_of", "select_stack", "stack_config"]
