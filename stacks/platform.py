"""The platform objects on the real Pulumi engine: Kafka topics, their value-schema subjects and the S3 sink
connector, declared as an Automation API inline program against running servers (devstack's, or any
Kafka / schema registry / Connect worker given by an outputs file).

    python -m stacks.platform up                          # against devstack (`python -m devstack outputs`)
    python -m stacks.platform preview --diff --outputs local.json
    python -m stacks.platform refresh | destroy [--stack NAME]

Everything the engine needs is set here, nothing by hand: the CLI built by `tools/pulumi/build.sh`
(`make setup`) in tools/bin/, a local file backend in `.pulumi/` (git-ignored), the passphrase secrets
provider (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE if set, else a random passphrase
generated once into `.pulumi/passphrase`), no update checks and no plugin downloads.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto

from components import naming
from components.connect import Connector, S3SinkSettings, s3_sink_config
from components.kafka_topic import KafkaTopic
from components.schema_subject import SchemaSubject, schema_text
from schemas import load as load_schema

ROOT = Path(__file__).resolve().parents[1]
TOOLS_ROOT = ROOT / "tools"  # PulumiCommand's root: the CLI is <root>/bin/pulumi
PULUMI_BIN = TOOLS_ROOT / "bin" / "pulumi"
STATE_DIR = ROOT / ".pulumi"
PROJECT = "kde-platform"
DEFAULT_STACK = "devstack"
TOPIC_CONFIGS = {"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)}
# connector config keys whose values are credentials: kept in `secret_config` (encrypted in state)
CREDENTIAL_KEYS = ("aws.access.key.id", "aws.secret.access.key")


class EngineError(RuntimeError):
    """The Pulumi engine cannot run here (no CLI, bad outputs) or an operation failed."""


# --- the engine's environment ----------------------------------------------------------------------------


def engine_env(state_dir: Path = STATE_DIR) -> dict[str, str]:
    """Environment of every `pulumi` process: local file backend in `state_dir`, passphrase secrets, our bin."""
    state_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "PULUMI_BACKEND_URL": state_dir.resolve().as_uri(),
        "PULUMI_HOME": str(state_dir.resolve() / "home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # the engine finds pulumi-resource-pulumi-python (dynamic providers) next to itself or on PATH
        "PATH": f"{PULUMI_BIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        passphrase = state_dir / "passphrase"
        if not passphrase.exists():
            passphrase.touch(mode=0o600)
            passphrase.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase.resolve())
    return env


def state_file(stack: str, state_dir: Path = STATE_DIR, project: str = PROJECT) -> Path:
    """The stack's checkpoint JSON in the file backend."""
    return state_dir / ".pulumi" / "stacks" / project / f"{stack}.json"


def pulumi_command() -> auto.PulumiCommand:
    if not PULUMI_BIN.exists():
        raise EngineError(f"{PULUMI_BIN} not found: build it with `tools/pulumi/build.sh` (run by `make setup`)")
    return auto.PulumiCommand(root=str(TOOLS_ROOT))


def select_stack(
    stack: str,
    program: Callable[[], None],
    state_dir: Path = STATE_DIR,
    project: str = PROJECT,
    extra_env: Mapping[str, str] | None = None,
) -> auto.Stack:
    """Create or select `stack` of the inline `program` on the local backend."""
    env = {**engine_env(state_dir), **(extra_env or {})}
    opts = auto.LocalWorkspaceOptions(
        pulumi_home=env["PULUMI_HOME"],
        env_vars=env,
        pulumi_command=pulumi_command(),
        secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(
            name=project, runtime="python", backend=auto.ProjectBackend(url=env["PULUMI_BACKEND_URL"])
        ),
    )
    return auto.create_or_select_stack(stack_name=stack, project_name=project, program=program, opts=opts)


# --- the platform objects --------------------------------------------------------------------------------


def detect_sink_flavour(connect_url: str) -> str:
    """Which S3 sink plugin the Connect worker has: `devstack` (our own plugin), `aiven` or `confluent`
    (also the answer when the worker cannot be asked, e.g. a preview before it runs)."""
    import requests

    from components.connect.s3_sink import AIVEN_S3_SINK
    from devstack.services.connect import S3_SINK_CLASS as DEVSTACK_S3_SINK

    try:
        plugins = requests.get(connect_url.rstrip("/") + "/connector-plugins", timeout=10).json()
    except (requests.RequestException, ValueError):
        return "confluent"
    classes = {p.get("class") for p in plugins if isinstance(p, dict)}
    if DEVSTACK_S3_SINK in classes:
        return "devstack"
    return "aiven" if AIVEN_S3_SINK in classes else "confluent"


def sink_config(outputs: Mapping[str, Any], flavour: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(config, secret_config) of the S3 sink connector for these outputs, for the plugin the worker has
    (`flavour`, default: asked from the worker). devstack's own plugin takes literal keys in its config:
    those go to `secret_config`, encrypted in the state; the others use references or the AWS chain."""
    sink = outputs["s3_sink"]
    flavour = flavour or detect_sink_flavour(outputs["kafka_connect_url"])
    if flavour == "devstack":
        from devstack.services.connect import s3_sink_config as devstack_s3_sink_config

        config = devstack_s3_sink_config(dict(outputs))
    else:
        endpoints = outputs.get("endpoints") or {}
        config = s3_sink_config(
            S3SinkSettings(
                topics=tuple(sink["topics"]),
                bucket=sink["bucket"],
                region=outputs["aws_region"],
                topics_dir=sink["prefix"],
                schema_registry_url=outputs["schema_registry_url"],
                endpoint_url=endpoints.get("s3"),
                flavour=flavour,
            )
        )
    secret = {k: config.pop(k) for k in CREDENTIAL_KEYS if k in config and not config[k].startswith("${")}
    return config, secret


def platform_program(
    outputs: Mapping[str, Any],
    *,
    partitions: int = 3,
    compatibility: str = "BACKWARD",
    sink_overrides: Mapping[str, str] | None = None,
    sink_flavour: str | None = None,
    running_timeout_s: int = 120,
) -> Callable[[], None]:
    """The inline program: one topic + value subject per `kafka_topics` entry, and the S3 sink connector.
    `sink_overrides` are merged into the connector config (e.g. `{"flush.size": "5"}`)."""
    config, secret_config = sink_config(outputs, sink_flavour)
    config = {**config, **(sink_overrides or {})}

    def program() -> None:
        topics: dict[str, KafkaTopic] = {}
        subjects: dict[str, SchemaSubject] = {}
        for dataset, topic in sorted(outputs["kafka_topics"].items()):
            topics[dataset] = KafkaTopic(
                f"topic-{dataset}",
                {
                    "bootstrap_servers": outputs["kafka_bootstrap_servers"],
                    "topic": topic,
                    "partitions": partitions,
                    "replication_factor": 1,
                    "configs": dict(TOPIC_CONFIGS),
                },
            )
            subject = naming.schema_subject(topic)
            subjects[dataset] = SchemaSubject(
                f"subject-{dataset}",
                {
                    "registry_url": outputs["schema_registry_url"],
                    "subject": subject,
                    "schema": schema_text(load_schema(dataset).json_schema()),
                    "schema_type": "JSON",
                    "compatibility": compatibility,
                },
            )
        sink = outputs["s3_sink"]
        connector = Connector(
            "s3-sink",
            {
                "name": sink["connector"],
                "connect_url": outputs["kafka_connect_url"],
                "config": config,
                "secret_config": secret_config,
                "running_timeout_s": running_timeout_s,
            },
            pulumi.ResourceOptions(depends_on=[*topics.values(), *subjects.values()]),
        )
        pulumi.export("kafka_topics", {d: t.topic for d, t in topics.items()})
        pulumi.export("schema_subjects", {d: s.subject for d, s in subjects.items()})
        pulumi.export("s3_sink_connector", connector.name)
        pulumi.export("s3_sink_state", connector.state)

    return program


# --- CLI -------------------------------------------------------------------------------------------------


def devstack_outputs() -> dict[str, Any]:
    try:
        out = subprocess.run(
            [sys.executable, "-m", "devstack", "outputs"], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise EngineError(f"`python -m devstack outputs` failed: {exc.stderr.strip()}") from None
    result: dict[str, Any] = json.loads(out)
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stacks.platform",
        description="Kafka topics, schema subjects and the S3 sink connector on the real Pulumi engine "
        "(local file backend in .pulumi/, passphrase secrets).",
    )
    p.add_argument("command", choices=("up", "preview", "refresh", "destroy", "outputs"))
    p.add_argument("--outputs", metavar="FILE", help="stack outputs JSON (default: `python -m devstack outputs`)")
    p.add_argument("--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})")
    p.add_argument("--diff", action="store_true", help="show a detailed diff (preview, up)")
    p.add_argument(
        "--sink-flavour",
        choices=("devstack", "confluent", "aiven"),
        help="S3 sink plugin of the Connect worker (default: asked from the worker)",
    )
    p.add_argument("--expect-no-changes", action="store_true", help="fail if preview/up/refresh would change anything")
    return p


def main(argv: list[str] | None = None) -> int:
    from stacks.outputs import read_outputs

    args = _parser().parse_args(argv)
    try:
        outputs = read_outputs(outputs_file=args.outputs) if args.outputs else devstack_outputs()
        stack = select_stack(args.stack, platform_program(outputs, sink_flavour=args.sink_flavour))
        if args.command == "up":
            stack.up(diff=args.diff, expect_no_changes=args.expect_no_changes, on_output=print)
        elif args.command == "preview":
            stack.preview(diff=args.diff, expect_no_changes=args.expect_no_changes, on_output=print)
        elif args.command == "refresh":
            stack.refresh(expect_no_changes=args.expect_no_changes, on_output=print)
        elif args.command == "destroy":
            stack.destroy(on_output=print)
        if args.command in ("up", "outputs"):
            print(json.dumps({k: v.value for k, v in stack.outputs().items()}, indent=2))
    except (EngineError, auto.errors.CommandError) as exc:
        print(f"stacks.platform: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # run as `stacks.platform`, not `__main__`: the dynamic providers are pickled by reference to this module
    from stacks.platform import main as _main

    raise SystemExit(_main())
