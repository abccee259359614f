"""Stack runs under the mock runtime, cached per test session (each takes ~0.3 s)."""

from __future__ import annotations

from functools import cache

from stacks.mockrun import Run, run_stack


@cache
def stack_run(stack: str) -> Run:
    return run_stack(stack)


def env_of(run: Run, container: str) -> dict[str, str] | str:
    """A container's environment as a dict, or "[secret]" when the whole env list is secret."""
    envs = run.named(container).inputs.get("envs")
    if isinstance(envs, str):
        return envs
    return dict(item.split("=", 1) for item in envs or [])
