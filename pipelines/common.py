"""What every pipeline command shares: where its files go, how it reads stack outputs, an S3 client."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from stacks.outputs import read_outputs

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
    """`--stack NAME | --outputs FILE | --devstack`: where the targets come from (exactly one)."""
    group = parser.add_argument_group("stack outputs (exactly one)")
    source = group.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", metavar="NAME", help="a Pulumi stack (reads `pulumi stack output --json`)")
    source.add_argument(
        "--outputs", metavar="FILE", help="a JSON file of stack outputs, e.g. `python -m devstack outputs --file F`"
    )
    source.add_argument(
        "--devstack", action="store_true", help="the outputs of the local platform (`python -m devstack outputs`)"
    )


def outputs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if getattr(args, "devstack", False):
        return devstack_outputs()
    return read_outputs(stack=args.stack, outputs_file=args.outputs)


def devstack_outputs() -> dict[str, Any]:
    from devstack.config import DevstackConfig
    from devstack.outputs import build_outputs

    return build_outputs(DevstackConfig.from_env())


def s3_client(outputs: dict[str, Any]) -> Any:
    """A boto3 S3 client for the stack: the emulator's endpoint and keys, or the default chain on real clouds."""
    import boto3

    creds = outputs.get("aws_credentials") or {}
    return boto3.client(
        "s3",
        endpoint_url=(outputs.get("endpoints") or {}).get("s3"),
        region_name=outputs.get("aws_region"),
        aws_access_key_id=creds.get("access_key_id"),
        aws_secret_access_key=creds.get("secret_access_key"),
    )


def public_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """The outputs without their secret keys (safe for Airflow Variables, logs and reports)."""
    from stacks.outputs import SECRET_KEYS

    return {k: v for k, v in outputs.items() if k not in SECRET_KEYS}


def quiet_http_clients() -> None:
    """Airflow's logging config (loaded when one of its modules is first imported, dlt included) lets INFO through
    the root logger; called before every step of a long run so HTTP chatter stays off the screen (httpx2: the
    schema registry client)."""
    for noisy in ("httpx", "httpx2", "urllib3", "botocore", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
