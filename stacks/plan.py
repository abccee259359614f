"""`python -m stacks plan --stack dev|local|prod [--accept]` (`make plan STACK=... [ACCEPT=1]`): a readable plan
of the stack under the Pulumi mock runtime, diffed against the committed snapshot tests/snapshots/plan-<stack>.txt.
Exit 1 on an unaccepted difference. A resource moved under a component shows its alias (`~ alias`): it keeps
the URN it had, so the engine replaces nothing."""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from stacks.mockrun import REPO_ROOT, Run, run_stack

SNAPSHOT_DIR = REPO_ROOT / "tests" / "snapshots"
MAX_VALUE = 100


def snapshot_path(stack: str) -> Path:
    return SNAPSHOT_DIR / f"plan-{stack}.txt"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if "\n" in text:
        text = json.dumps(text)  # one line per value (e.g. MSK's server.properties)
    text = text.replace(str(REPO_ROOT), "<repo>")  # the same plan from any checkout
    if len(text) <= MAX_VALUE:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{text[:MAX_VALUE]}… ({len(text)} chars, sha256 {digest})"


def _lines(prefix: str, value: Any) -> list[str]:
    """Flatten nested inputs to `a.b[0].c: value` lines; maps of strings stay one per key."""
    if isinstance(value, dict) and value:
        return [line for k in sorted(value) for line in _lines(f"{prefix}.{k}" if prefix else k, value[k])]
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        return [line for i, v in enumerate(value) for line in _lines(f"{prefix}[{i}]", v)]
    return [f"{prefix}: {_short(value)}"]


def render(run: Run) -> str:
    counts = Counter(r.type for r in run.resources if r.custom)
    out = [f"# plan of stack `{run.stack}` (Pulumi mock runtime; secrets shown as [secret])", ""]
    out.append(f"resources: {sum(counts.values())} (+ {sum(not r.custom for r in run.resources)} components)")
    out += [f"  {n:3d}  {t}" for t, n in sorted(counts.items())]
    out.append("")
    for resource in sorted(run.resources, key=lambda r: (r.type, r.name)):
        out.append(f"+ {resource.type}  {resource.name}")
        if run.urns.get((resource.type, resource.name)) in run.moved_from_root:
            out.append("  ~ alias: parent was the stack's root (its URN from before is kept: no replace)")
        out += [f"    {line}" for line in _lines("", resource.inputs)] if resource.inputs else []
    out += ["", "outputs:"]
    out += [f"    {line}" for key in run.outputs for line in _lines(key, run.outputs[key])]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks plan", description=__doc__)
    parser.add_argument(
        "--stack", required=True, choices=("dev", "local", "prod"), help="the stack (Pulumi.<stack>.yaml)"
    )
    parser.add_argument("--accept", action="store_true", help="write the plan as the new snapshot")
    args = parser.parse_args(argv)
    text = render(run_stack(args.stack))
    snapshot = snapshot_path(args.stack)
    print(text, end="")
    if args.accept:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
        print(f"\nsnapshot updated: {snapshot.relative_to(REPO_ROOT)}")
        return 0
    old = snapshot.read_text(encoding="utf-8") if snapshot.exists() else ""
    if old == text:
        print(f"\nplan matches {snapshot.relative_to(REPO_ROOT)}")
        return 0
    diff = difflib.unified_diff(old.splitlines(), text.splitlines(), "snapshot", "plan", lineterm="")
    print(f"\nplan differs from {snapshot.relative_to(REPO_ROOT)}:", *diff, sep="\n")
    print(f"\naccept it with: make plan STACK={args.stack} ACCEPT=1", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit("stacks.plan is a verb of the runner now: python -m stacks plan --help")
