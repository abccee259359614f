"""devstack's real servers for the suite: started (with `up` of the devstack stack, which creates the topics,
subjects and the S3 sink connector), and one service at a time killed -9 or started again."""

from __future__ import annotations

from typing import Any

from devstack import services as registry
from devstack.config import DevstackConfig
from devstack.service import Service

#: what the four sinks, the streaming pipeline, the stack and the GCS lake need
SERVICES = ("s3", "dynamodb", "gcs", "firestore", "ferretdb", "kafka", "registry", "connect", "airflow")
STACK = "devstack"


def start_platform(report: Any = print) -> dict[str, Any]:
    """devstack's processes, then `up` of the devstack stack on the real engine; the stack's outputs."""
    from devstack.platform import Platform

    Platform().up(list(SERVICES), report=report)
    return up_stack()


def up_stack() -> dict[str, Any]:
    """`up` of the devstack stack (refreshed): what a restarted in-memory server forgot (the registry's
    subjects) is declared again, by the stack that owns it."""
    from stacks.engine import outputs_of, select_stack

    substrate = DevstackConfig.from_env().home / "outputs.json"
    stack = select_stack(STACK, config={"substrateOutputs": str(substrate)})
    stack.up(refresh=True, color="never")
    outputs: dict[str, Any] = outputs_of(stack)
    return outputs


def service(name: str) -> Service:
    return registry.make(name, DevstackConfig.from_env())
