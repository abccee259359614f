"""Run the stack program under the Pulumi SDK mock runtime (no CLI, no cloud, no Docker) and record what it
declares: every resource (type, name, inputs with secrets still marked) and the resolved stack outputs.
Used by `stacks.plan` and the unit tests."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from stacks.config import PROJECT, file_config

REPO_ROOT = Path(__file__).resolve().parent.parent
INTERNAL_INPUTS = frozenset({"__provider"})
SECRET = "[secret]"
PLACEHOLDER_SECRET = "plan-placeholder-secret"
#: secrets a stack needs but never keeps in its file (`pulumi config set --secret`): placeholders here too
UNFILED_SECRETS: dict[str, dict[str, str]] = {
    "prod": {f"{PROJECT}:mongodbUri": "mongodb://plan:placeholder@mongodb.invalid/"}
}
MOCK_ACCOUNT = "123456789012"
#: a GCP service-account key as the provider returns it (base64 of the JSON credentials file), fake
MOCK_GCP_KEY = base64.b64encode(
    json.dumps({"type": "service_account", "private_key": "mock-private-key", "client_email": "mock"}).encode()
).decode()
#: computed outputs of the managed engines' resources (stack `prod`) that the program reads; other stacks
#: declare none of these types
COMPUTED_OUTPUTS: dict[str, dict[str, Any]] = {
    "aws:msk/cluster:Cluster": {
        "bootstrapBrokersSaslIam": "b-1.mock.kafka:9098,b-2.mock.kafka:9098,b-3.mock.kafka:9098"
    },
    "aws:msk/serverlessCluster:ServerlessCluster": {"bootstrapBrokersSaslIam": "boot-mock.kafka-serverless:9098"},
    "aws:msk/configuration:Configuration": {"latestRevision": 1},
    "aws:mskconnect/customPlugin:CustomPlugin": {"latestRevision": 1},
    "aws:s3/bucketObjectv2:BucketObjectv2": {"versionId": "mock-version"},
    "aws:lb/loadBalancer:LoadBalancer": {"dnsName": "internal-registry.mock.elb.amazonaws.com"},
    "aws:mwaa/environment:Environment": {"webserverUrl": "mock.airflow.amazonaws.com"},
    "gcp:serviceaccount/key:Key": {"privateKey": MOCK_GCP_KEY},
}
#: managed-engine types whose ARN the program reads (IAM policies, plugin locations)
ARN_TYPES = frozenset(
    {
        "aws:msk/cluster:Cluster",
        "aws:msk/serverlessCluster:ServerlessCluster",
        "aws:msk/configuration:Configuration",
        "aws:kms/key:Key",
        "aws:iam/role:Role",
        "aws:mskconnect/customPlugin:CustomPlugin",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/taskDefinition:TaskDefinition",
    }
)


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
    #: URN of each declared resource -> its parent's URN ("" for the stack's own), and (type, name) -> URN
    parents: dict[str, str] = field(default_factory=dict)
    urns: dict[tuple[str, str], str] = field(default_factory=dict)
    #: URNs of the resources aliased to the stack's root: moved under a component, they keep their URN from before
    #: (the providers' own type aliases, e.g. pulumi-aws's BucketV2 -> Bucket, are left out)
    moved_from_root: set[str] = field(default_factory=set)

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
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return asset_text(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k not in INTERNAL_INPUTS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def asset_text(value: pulumi.Asset | pulumi.Archive) -> str:
    """An asset or archive as the plan shows it: its kind and path (string assets: their text)."""
    kind = type(value).__name__
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        return f"{kind}({value.path})"
    if isinstance(value, pulumi.StringAsset):
        return f"{kind}({value.text})"
    if isinstance(value, pulumi.AssetArchive):
        return f"{kind}({', '.join(f'{k}={asset_text(v)}' for k, v in sorted(value.assets.items()))})"
    return kind


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
        if args.typ == "aws:msk/cluster:Cluster" or args.typ == "aws:msk/serverlessCluster:ServerlessCluster":
            state["arn"] = f"arn:aws:kafka:mock-region:{MOCK_ACCOUNT}:cluster/{args.name}/mock-uuid"
        elif args.typ == "gcp:serviceaccount/account:Account":
            state["email"] = f"{args.inputs.get('accountId')}@{args.inputs.get('project')}.iam.gserviceaccount.com"
            state["name"] = f"projects/{args.inputs.get('project')}/serviceAccounts/{state['email']}"
        elif args.typ in ARN_TYPES:
            state["arn"] = f"arn:aws:mock:mock-region:{MOCK_ACCOUNT}:{args.typ.split(':')[1]}/{args.name}"
        state.update(COMPUTED_OUTPUTS.get(args.typ, {}))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": MOCK_ACCOUNT, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/mock", "userId": "mock"}, []
        return {}, None


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also recording each resource's parent (the mocks see only type and name)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.run = mocks.run

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.run.parents[response.urn] = request.parent
            self.run.urns[(request.type, request.name)] = response.urn
            if any(alias.spec.noParent for alias in request.aliases):
                self.run.moved_from_root.add(response.urn)
        return response


def stack_config(stack: str, root: Path = REPO_ROOT) -> tuple[dict[str, str], list[str]]:
    """`Pulumi.<stack>.yaml` as runtime config; `secure:` values become placeholders (no secrets provider here)."""
    config, secure = file_config(stack, root)
    unfiled = {k: v for k, v in UNFILED_SECRETS.get(stack, {}).items() if k not in config}
    placeheld = {k: PLACEHOLDER_SECRET if k in secure else v for k, v in config.items()}
    return {**placeheld, **unfiled}, [*secure, *unfiled]


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
    mocks = RecordingMocks(run)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks))

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
