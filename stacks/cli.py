"""`python -m stacks VERB`: the stack program on the real engine (up, preview, refresh, destroy, outputs), the
S3 sink's offsets (offsets), and, under the Pulumi mock runtime, the plan and the deployment picture (plan,
graph)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from pulumi import automation as auto

from contract.outputs import PROJECT
from stacks.config import file_config
from stacks.engine import EngineError, changes, outputs_of, select_stack

DEFAULT_STACK = "devstack"
ENGINE_VERBS = ("up", "preview", "refresh", "destroy", "outputs")
#: verbs with their own options, each the `main` of its module
OWN_VERBS = {"offsets": "stacks.offsets", "plan": "stacks.plan", "graph": "stacks.graph"}
EPILOG = """\
examples:
  python -m stacks up                             the devstack stack: topics, subjects, S3 sink, Airflow settings
  python -m stacks preview --diff                 what `up` would change, property by property; on devstack
                                                  it reads the live objects first, so drift shows as changes
  python -m stacks preview --diff --refresh --stack dev
                                                  the same on a cloud stack (off by default there: a refresh
                                                  reads every cloud resource, which is slow and costs API calls)
  python -m stacks refresh --expect-no-changes    fail if anything drifted from the state
  python -m stacks outputs --file local.json      the stack outputs (mode 0600: they hold secrets) for --outputs
  python -m stacks destroy                        delete everything the stack created
  python -m stacks offsets list                   the S3 sink's offsets; `offsets --help`: rewind, reset
  python -m stacks plan --stack dev               the plan under the mock runtime (no CLI, no cloud), diffed
                                                  against tests/snapshots/plan-dev.txt; --accept to update it
  python -m stacks graph --stack prod             the deployment as Mermaid; --docs rewrites docs/deployments.md

Stacks: one per Pulumi.<stack>.yaml (devstack, local, dev). State: the local file backend in .pulumi/ with a
generated passphrase (PULUMI_BACKEND_URL to use your own backend). The CLI is tools/bin/pulumi (`make setup`).
With a standard Pulumi CLI, `pulumi up -s NAME` runs the same program.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stacks",
        description="Run the stack program (stacks/program.py) for any stack on the real Pulumi engine, or read it "
        "under the mock runtime (plan, graph).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "command",
        choices=(*ENGINE_VERBS, *OWN_VERBS),
        help="up/preview/refresh/destroy/outputs run the engine; offsets, plan and graph take their own options "
        "(`python -m stacks plan --help`)",
    )
    p.add_argument("--stack", default=DEFAULT_STACK, help=f"the stack (Pulumi.<stack>.yaml; default {DEFAULT_STACK})")
    p.add_argument("--diff", action="store_true", help="show a property-level diff (up, preview)")
    p.add_argument("--expect-no-changes", action="store_true", help="fail if anything would change")
    p.add_argument(
        "--refresh",
        action=argparse.BooleanOptionalAction,
        help="read the live objects first, so what changed behind the stack's back shows (preview) and is repaired "
        "(up); default: on for up, and for preview on devstack-substrate stacks only",
    )
    p.add_argument("--file", type=Path, help="outputs: write them to this file (0600) instead of stdout")
    p.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE", help="override a Pulumi.<stack>.yaml value"
    )
    return p


def _overrides(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise EngineError(f"--config {pair!r}: expected KEY=VALUE")
        result[key] = value
    return result


def preview_refreshes(stack: str, flag: bool | None, overrides: dict[str, str] | None = None) -> bool:
    """--refresh/--no-refresh as given; by default a preview refreshes where that is cheap: on devstack's local
    processes (stacks of substrate `devstack`), not on the clouds."""
    if flag is not None:
        return flag
    config = {**file_config(stack)[0], **{k if ":" in k else f"{PROJECT}:{k}": v for k, v in (overrides or {}).items()}}
    return config.get(f"{PROJECT}:substrate") == "devstack"


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode given to open applies only to a file it creates, not to one already there
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def run(args: argparse.Namespace) -> int:
    stack = select_stack(args.stack, config=_overrides(args.config))
    if args.command == "up":
        result = stack.up(
            diff=args.diff,
            expect_no_changes=args.expect_no_changes,
            refresh=args.refresh is not False,
            on_output=print,
            color="never",
        )
        print(f"stack {args.stack}: {changes(result.summary.resource_changes)}", file=sys.stderr)
    elif args.command == "preview":
        preview = stack.preview(
            diff=args.diff,
            expect_no_changes=args.expect_no_changes,
            refresh=preview_refreshes(args.stack, args.refresh, _overrides(args.config)),
            on_output=print,
            color="never",
        )
        print(f"stack {args.stack}: {changes(preview.change_summary)}", file=sys.stderr)
    elif args.command == "refresh":
        refreshed = stack.refresh(expect_no_changes=args.expect_no_changes, on_output=print, color="never")
        print(f"stack {args.stack}: {changes(refreshed.summary.resource_changes)}", file=sys.stderr)
    elif args.command == "destroy":
        stack.destroy(on_output=print, color="never")
    else:
        text = json.dumps(outputs_of(stack), indent=2) + "\n"
        if args.file:
            write_private(args.file, text)
            print(f"stack {args.stack}: outputs written to {args.file}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in OWN_VERBS:
        verb: Callable[[list[str]], int] = importlib.import_module(OWN_VERBS[argv[0]]).main
        return verb(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except EngineError as exc:
        print(f"stacks: {exc}", file=sys.stderr)
    except auto.errors.CommandError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        print(f"stacks: `{args.command}` of stack {args.stack} failed:", *lines[-15:], sep="\n  ", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1
