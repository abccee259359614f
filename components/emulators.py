"""Emulators for the `local` stack (no cloud account): moto (S3 + DynamoDB), fake-gcs-server (GCS) and the
Firestore emulator as containers, plus AWS and GCP providers pointed at them. Resources created with these
providers wait for the emulators' health checks (the providers' endpoints resolve only then)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
import pulumi_gcp as gcp

from components._docker import LOOPBACK, Service, pulled_image, service_container
from contract import naming

#: moto accepts any keys; these exist only so clients sign requests (the same as devstack's)
FAKE_ACCESS_KEY_ID = "devstack"
FAKE_SECRET_ACCESS_KEY = "devstack-secret"
#: names the emulators have on the stack network (Connect and Airflow reach them there)
MOTO_INTERNAL_URL = "http://moto:5000"
GCS_INTERNAL_URL = "http://gcs:4443"
FIRESTORE_INTERNAL_HOST = "firestore:8086"


class EmulatorsArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    network: Required[docker.Network]
    ports: Required[Mapping[str, int]]  # moto, gcs, firestore
    images: Required[Mapping[str, str]]
    aws_region: Required[str]
    gcp_project: Required[str]


class Emulators(pulumi.ComponentResource):
    aws_provider: aws.Provider
    gcp_provider: gcp.Provider
    endpoints: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: EmulatorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:local:Emulators", name, None, opts)
        prefix, stack, ports, images = args["prefix"], args["stack"], args["ports"], args["images"]
        child = pulumi.ResourceOptions(parent=self)

        def start(role: str, service: Service) -> docker.Container:
            return service_container(service, args["network"], child)

        def image(key: str) -> pulumi.Output[str]:
            return pulled_image(naming.resource_name(prefix, stack, f"{key}-image"), images[key], child).name

        moto = start(
            "moto",
            Service(
                name=naming.resource_name(prefix, stack, "moto"),
                alias="moto",
                image=image("moto"),
                ports={5000: ports["moto"]},
                envs={"MOTO_PORT": "5000"},
                health="python -c \"import urllib.request; urllib.request.urlopen('http://localhost:5000/moto-api/')\"",
            ),
        )
        gcs = start(
            "gcs",
            Service(
                name=naming.resource_name(prefix, stack, "gcs"),
                alias="gcs",
                image=image("gcs"),
                ports={4443: ports["gcs"]},
                command=["-scheme", "http", "-port", "4443", "-external-url", f"http://{LOOPBACK}:{ports['gcs']}"],
                health="wget -qO- http://localhost:4443/storage/v1/b >/dev/null",
            ),
        )
        firestore = start(
            "firestore",
            Service(
                name=naming.resource_name(prefix, stack, "firestore"),
                alias="firestore",
                image=image("firestore"),
                ports={8086: ports["firestore"]},
                command=[
                    "gcloud",
                    "emulators",
                    "firestore",
                    "start",
                    "--host-port=0.0.0.0:8086",
                    f"--project={args['gcp_project']}",
                ],
                health="curl -fsS http://localhost:8086/ >/dev/null",
            ),
        )
        moto_url = moto.name.apply(lambda _: f"http://{LOOPBACK}:{ports['moto']}")
        gcs_url = gcs.name.apply(lambda _: f"http://{LOOPBACK}:{ports['gcs']}")
        firestore_host = firestore.name.apply(lambda _: f"{LOOPBACK}:{ports['firestore']}")
        self.aws_provider = aws.Provider(
            naming.resource_name(prefix, stack, "aws-emulated"),
            region=args["aws_region"],
            access_key=FAKE_ACCESS_KEY_ID,
            secret_key=pulumi.Output.secret(FAKE_SECRET_ACCESS_KEY),
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
            s3_use_path_style=True,
            endpoints=[{"s3": moto_url, "dynamodb": moto_url, "iam": moto_url, "sts": moto_url}],
            opts=child,
        )
        self.gcp_provider = gcp.Provider(
            naming.resource_name(prefix, stack, "gcp-emulated"),
            project=args["gcp_project"],
            access_token=pulumi.Output.secret("emulator-token"),
            storage_custom_endpoint=gcs_url.apply(lambda url: f"{url}/storage/v1/"),
            firestore_custom_endpoint=firestore_host.apply(lambda host: f"http://{host}/v1/"),
            opts=child,
        )
        self.endpoints = pulumi.Output.all(s3=moto_url, dynamodb=moto_url, gcs=gcs_url, firestore=firestore_host)  # type: ignore[assignment]
        self.register_outputs({"endpoints": self.endpoints})
