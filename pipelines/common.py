"""What every pipeline command shares: where its files go and how it reads the stack outputs."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from contract.outputs import StackOutputs, read_outputs

PACKAGE_DIR = Path(__file__).resolve().parent
#: the repository root when running from a checkout (pyproject.toml beside the package), else None
REPO_ROOT: Path | None = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").exists() else None
DAGS_DIR = PACKAGE_DIR / "dags"


def work_dir() -> Path:
    """Project-local, git-ignored working folder (`.out/` of the checkout), or `$PIPELINES_WORK_DIR`.

    Outside a checkout (an installed package, e.g. in the Airflow image) it falls back to
    `~/.cache/modern-data-pipeline` so nothing is ever written into site-packages.
    """
    explicit = os.environ.get("PIPELINES_WORK_DIR")
    if explicit:
        base = Path(explicit)
    elif REPO_ROOT is not None:
        base = REPO_ROOT / ".out"
    else:
        base = Path.home() / ".cache" / "modern-data-pipeline"
    base.mkdir(parents=True, exist_ok=True)
    return base


def add_outputs_arguments(parser: argparse.ArgumentParser) -> None:
    """`--stack NAME | --outputs FILE`: where the targets come from (exactly one)."""
    group = parser.add_argument_group("stack outputs (exactly one)")
    source = group.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--stack", metavar="NAME", help="a Pulumi stack, e.g. devstack (reads `pulumi stack output --json`)"
    )
    source.add_argument(
        "--outputs", metavar="FILE", help="a JSON file of stack outputs (`python -m stacks outputs --file F`)"
    )


def outputs_from_args(args: argparse.Namespace) -> StackOutputs:
    return read_outputs(stack=args.stack, outputs_file=args.outputs)


def quiet_http_clients() -> None:
    """Airflow's logging config (loaded when one of its modules is first imported, dlt included) lets INFO through
    the root logger; called before every step of a long run so HTTP chatter stays off the screen (httpx2: the
    schema registry client)."""
    for noisy in ("httpx", "httpx2", "urllib3", "botocore", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
