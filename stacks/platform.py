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
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, Resource, UpdateResult

from components import naming
from components.connect import (
    ConnectClient,
    ConnectError,
    ConnectorArgs,
    ConnectorProvider,
    S3SinkSettings,
    s3_sink_config,
)
from components.connect.client import running_state
from components.kafka_topic import TIMEOUT_S as TOPIC_TIMEOUT_S
from components.kafka_topic import TopicArgs, TopicProvider, _admin
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


def _whole_numbers(props: dict[str, Any]) -> dict[str, Any]:
    """Integers cross the engine's gRPC boundary as doubles (protobuf Struct): 3 arrives as 3.0."""
    fixed = dict(props)
    for key in ("partitions", "replication_factor"):
        value = fixed.get(key)
        if isinstance(value, float) and value.is_integer():
            fixed[key] = int(value)
    return fixed


class PlatformTopicProvider(TopicProvider):
    """TopicProvider for the real engine. (1) Takes partitions/replication that arrive as 3.0 (TopicProvider
    checks for int and passes them to confluent-kafka, which needs ints). (2) Adopts a topic that already
    exists (devstack provisions the contract's topics so loaders run without Pulumi) and applies partitions
    and configs; Pulumi's `import` cannot do that for dynamic resources (their provider lives in the state)."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return super().check(_whole_numbers(olds), _whole_numbers(news))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return super().diff(id_, _whole_numbers(olds), _whole_numbers(news))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return super().update(id_, _whole_numbers(olds), _whole_numbers(news))

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = _whole_numbers(props)
        try:
            return super().create(props)
        except RuntimeError as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
        live = self.read(props["topic"], dict(props))
        if live.id is None or live.outs is None:
            raise RuntimeError(f"topic {props['topic']}: exists, then vanished while adopting it")
        if live.outs["replication_factor"] != props["replication_factor"] or (
            live.outs["partitions"] > props["partitions"]
        ):
            raise RuntimeError(
                f"topic {props['topic']} exists with {live.outs['partitions']} partitions, replication "
                f"{live.outs['replication_factor']}: cannot adopt it as {props['partitions']}/"
                f"{props['replication_factor']} (delete it or change the stack)"
            )
        super().update(props["topic"], live.outs, props)
        return CreateResult(id_=props["topic"], outs=dict(props))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # TopicProvider.delete lets its AdminClient be collected before the future resolves
        # ("Handle is terminating"): keep the client alive until the topic is deleted
        admin = _admin(props["bootstrap_servers"])
        for future in admin.delete_topics([id_], operation_timeout=TOPIC_TIMEOUT_S).values():
            future.result(timeout=TOPIC_TIMEOUT_S)


class PlatformTopic(Resource, module="kafka", name="Topic"):
    """KafkaTopic (same type and inputs) with PlatformTopicProvider."""

    topic: pulumi.Output[str]
    partitions: pulumi.Output[int]

    def __init__(self, resource_name: str, args: TopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "bootstrap_servers": args["bootstrap_servers"],
            "topic": args["topic"],
            "partitions": args.get("partitions", 1),
            "replication_factor": args.get("replication_factor", 1),
            "configs": args.get("configs") or {},
        }
        super().__init__(PlatformTopicProvider(), resource_name, props, opts)


class PlatformConnectorProvider(ConnectorProvider):
    """ConnectorProvider for a real worker: right after `POST /connectors` the worker answers 404 "No status
    found" for a moment, which ConnectClient.wait_running takes for a failure; wait through it."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        try:
            return super().create(props)
        except ConnectError as exc:
            if "HTTP 404" not in str(exc) or not str(exc).startswith("status of"):
                raise
        client = ConnectClient(str(props["connect_url"]))
        timeout_s = float(props.get("running_timeout_s", 120))
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                status = client.wait_running(props["name"], max(1.0, deadline - time.monotonic()))
                return CreateResult(id_=props["name"], outs={**props, "state": running_state(status)})
            except ConnectError as exc:
                if "HTTP 404" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(1.0)


class PlatformConnector(Resource, module="kafka-connect", name="Connector"):
    """components.connect.Connector (same type, inputs and secrets) with PlatformConnectorProvider."""

    name: pulumi.Output[str]
    config: pulumi.Output[dict[str, str]]
    state: pulumi.Output[str]

    def __init__(self, resource_name: str, args: ConnectorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "name": args["name"],
            "connect_url": args["connect_url"],
            "config": args["config"],
            "secret_config": pulumi.Output.secret(args.get("secret_config") or {}),
            "running_timeout_s": args.get("running_timeout_s", 120),
            "state": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["secret_config"]))
        super().__init__(PlatformConnectorProvider(), resource_name, props, opts)


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
    # Connect's /config/validate requires `name` in the config; ConnectorProvider ignores it when diffing
    config = {**config, **(sink_overrides or {}), "name": outputs["s3_sink"]["connector"]}

    def program() -> None:
        topics: dict[str, PlatformTopic] = {}
        subjects: dict[str, SchemaSubject] = {}
        for dataset, topic in sorted(outputs["kafka_topics"].items()):
            topics[dataset] = PlatformTopic(
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
        connector = PlatformConnector(
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
