"""Streaming platform on local Docker: network, Kafka broker (KRaft, no ZooKeeper), Schema Registry,
REST proxy, Kafka Connect built from containers/connect/ (S3 sink plugin), and a Kafka console.

Connect's REST API takes HTTP basic auth only (Kafka's BasicAuthSecurityRestExtension): the login is generated
once (`ConnectRestLogin`, secret in the state), handed to the worker's container, which writes its JAAS and
users files (containers/connect/rest-auth.sh), and to the console; output `connect_auth`
(`{"username", "password"}`, secret) is what the stack's connector resource and `ConnectClient` log in with.

Listeners: containers talk to `kafka:29092` on the stack network; the host (loaders, the Pulumi dynamic
providers) uses `127.0.0.1:<ports.kafka>`. Both are advertised by name, which the seed got wrong on Linux.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, NotRequired, Required, TypedDict

import pulumi
import pulumi_docker as docker

from components._docker import LOOPBACK, Service, pulled_image, service_container
from components.generated_secrets import GeneratedSecrets
from contract import naming

INTERNAL_BOOTSTRAP = "kafka:29092"
INTERNAL_REGISTRY_URL = "http://schema-registry:8081"
INTERNAL_CONNECT_URL = "http://connect:8083"
#: a fixed KRaft cluster id (22 chars, base64url) so re-creating the container keeps the same cluster id
KRAFT_CLUSTER_ID = "a2RlLWRldnN0YWNrLWtmaw"
ENV_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
FILE_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.FileConfigProvider"
BASIC_AUTH_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
CONNECT_REST_USER = "kde"


class ConnectRestLogin(GeneratedSecrets, module="connect", name="RestLogin"):
    password: pulumi.Output[str]

    RESOURCE_ID = "connect-rest-login"
    KINDS: ClassVar[Mapping[str, str]] = {"password": "long_password"}


class StreamingArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    ports: Required[Mapping[str, int]]  # kafka, schemaRegistry, restProxy, connect, console
    images: Required[Mapping[str, str]]  # kafka, schemaRegistry, restProxy, console
    connect_context: Required[str]  # folder with the Connect Dockerfile
    connect_env: NotRequired[Mapping[str, pulumi.Input[str]]]  # e.g. AWS credentials for the S3 sink (secret values)


def _url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


class StreamingPlatform(pulumi.ComponentResource):
    network: docker.Network
    containers: dict[str, docker.Container]
    bootstrap_servers: pulumi.Output[str]
    schema_registry_url: pulumi.Output[str]
    connect_url: pulumi.Output[str]
    connect_auth: pulumi.Output[dict[str, str]]
    rest_proxy_url: pulumi.Output[str]
    console_url: pulumi.Output[str]

    def __init__(self, name: str, args: StreamingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:streaming:StreamingPlatform", name, None, opts)
        prefix, stack, ports, images = args["prefix"], args["stack"], args["ports"], args["images"]
        child = pulumi.ResourceOptions(parent=self)
        self.network = docker.Network(
            naming.resource_name(prefix, stack, "net"), name=naming.resource_name(prefix, stack, "net"), opts=child
        )

        def image(key: str) -> pulumi.Output[str]:
            return pulled_image(naming.resource_name(prefix, stack, f"{key.lower()}-image"), images[key], child).name

        def container_name(role: str) -> str:
            return naming.resource_name(prefix, stack, role)

        connect_image = docker.Image(
            naming.resource_name(prefix, stack, "connect-image"),
            image_name=f"{prefix}-connect:{stack}",
            build={"context": args["connect_context"], "dockerfile": str(Path(args["connect_context"]) / "Dockerfile")},
            skip_push=True,
            opts=child,
        )
        broker = self._start(
            Service(
                name=container_name("kafka"),
                alias="kafka",
                image=image("kafka"),
                ports={9092: ports["kafka"]},
                envs=kafka_env(ports["kafka"]),
                health="/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092 >/dev/null 2>&1",
            ),
            child,
        )
        after_broker = pulumi.ResourceOptions(parent=self, depends_on=[broker])
        registry = self._start(
            Service(
                name=container_name("schema-registry"),
                alias="schema-registry",
                image=image("schemaRegistry"),
                ports={8081: ports["schemaRegistry"]},
                envs={
                    "SCHEMA_REGISTRY_HOST_NAME": "schema-registry",
                    "SCHEMA_REGISTRY_LISTENERS": "http://0.0.0.0:8081",
                    "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": f"PLAINTEXT://{INTERNAL_BOOTSTRAP}",
                },
                health="curl -fsS http://localhost:8081/subjects >/dev/null",
            ),
            after_broker,
        )
        after_registry = pulumi.ResourceOptions(parent=self, depends_on=[broker, registry])
        self._start(
            Service(
                name=container_name("rest-proxy"),
                alias="rest-proxy",
                image=image("restProxy"),
                ports={8082: ports["restProxy"]},
                envs={
                    "KAFKA_REST_HOST_NAME": "rest-proxy",
                    "KAFKA_REST_LISTENERS": "http://0.0.0.0:8082",
                    "KAFKA_REST_BOOTSTRAP_SERVERS": f"PLAINTEXT://{INTERNAL_BOOTSTRAP}",
                    "KAFKA_REST_SCHEMA_REGISTRY_URL": INTERNAL_REGISTRY_URL,
                },
                health="curl -fsS http://localhost:8082/topics >/dev/null",
            ),
            after_registry,
        )
        login = ConnectRestLogin(naming.resource_name(prefix, stack, "connect-rest-login"), child)
        # secret in plans too, where no engine marks the resource's secret outputs
        password: pulumi.Output[str] = pulumi.Output.secret(login.password)  # type: ignore[arg-type]
        connect = self._start(
            Service(
                name=container_name("connect"),
                alias="connect",
                image=connect_image.image_name,
                ports={8083: ports["connect"]},
                envs={
                    **connect_worker_env(f"{prefix}-{stack}"),
                    "KDE_CONNECT_REST_USER": CONNECT_REST_USER,
                    "KDE_CONNECT_REST_PASSWORD": password,
                    **args.get("connect_env", {}),
                },
                health="curl -fsS --netrc-file /etc/kde-connect/netrc http://localhost:8083/connectors >/dev/null",
                start_period="60s",
            ),
            after_registry,
        )
        self._start(
            Service(
                name=container_name("console"),
                alias="console",
                image=image("console"),
                ports={8080: ports["console"]},
                envs={
                    "KAFKA_BROKERS": INTERNAL_BOOTSTRAP,
                    "KAFKA_SCHEMAREGISTRY_ENABLED": "true",
                    "KAFKA_SCHEMAREGISTRY_URLS": INTERNAL_REGISTRY_URL,
                    "CONNECT_ENABLED": "true",
                    "CONNECT_CLUSTERS_NAME": "connect",
                    "CONNECT_CLUSTERS_URL": INTERNAL_CONNECT_URL,
                    "CONNECT_CLUSTERS_USERNAME": CONNECT_REST_USER,
                    "CONNECT_CLUSTERS_PASSWORD": password,
                },
                health="wget -qO- http://localhost:8080/admin/health >/dev/null",
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[broker, registry, connect]),
        )

        # host-side URLs resolve only once the containers are healthy, so dependants wait for them
        self.bootstrap_servers = broker.name.apply(lambda _: f"{LOOPBACK}:{ports['kafka']}")
        self.schema_registry_url = registry.name.apply(lambda _: _url(ports["schemaRegistry"]))
        self.connect_url = connect.name.apply(lambda _: _url(ports["connect"]))
        self.connect_auth = pulumi.Output.all(connect.name, password).apply(
            lambda values: {"username": CONNECT_REST_USER, "password": values[1]}
        )
        self.rest_proxy_url = self.containers["rest-proxy"].name.apply(lambda _: _url(ports["restProxy"]))
        self.console_url = self.containers["console"].name.apply(lambda _: _url(ports["console"]))
        self.register_outputs(
            {
                "bootstrap_servers": self.bootstrap_servers,
                "schema_registry_url": self.schema_registry_url,
                "connect_url": self.connect_url,
                "connect_auth": self.connect_auth,
                "rest_proxy_url": self.rest_proxy_url,
                "console_url": self.console_url,
            }
        )

    def _start(self, service: Service, opts: pulumi.ResourceOptions) -> docker.Container:
        if not hasattr(self, "containers"):
            self.containers = {}
        container = service_container(service, self.network, opts)
        self.containers[service.alias] = container
        return container


def kafka_env(host_port: int) -> dict[str, str]:
    """A single KRaft node (broker + controller); topics are never auto-created (the stack declares them)."""
    return {
        "CLUSTER_ID": KRAFT_CLUSTER_ID,
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
        "KAFKA_LISTENERS": "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"INTERNAL://{INTERNAL_BOOTSTRAP},EXTERNAL://{LOOPBACK}:{host_port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }


def connect_worker_env(group: str) -> dict[str, str]:
    """Distributed worker settings (Confluent image env convention) with env/file config providers, so
    connector configs reference `${env:AWS_SECRET_ACCESS_KEY}` instead of holding literal keys."""
    return {
        "CONNECT_BOOTSTRAP_SERVERS": INTERNAL_BOOTSTRAP,
        "CONNECT_REST_ADVERTISED_HOST_NAME": "connect",
        "CONNECT_REST_PORT": "8083",
        "CONNECT_GROUP_ID": f"{group}-connect",
        "CONNECT_CONFIG_STORAGE_TOPIC": "_connect-configs",
        "CONNECT_OFFSET_STORAGE_TOPIC": "_connect-offsets",
        "CONNECT_STATUS_STORAGE_TOPIC": "_connect-status",
        "CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR": "1",
        "CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR": "1",
        "CONNECT_STATUS_STORAGE_REPLICATION_FACTOR": "1",
        "CONNECT_KEY_CONVERTER": "org.apache.kafka.connect.storage.StringConverter",
        "CONNECT_VALUE_CONVERTER": "io.confluent.connect.json.JsonSchemaConverter",
        "CONNECT_VALUE_CONVERTER_SCHEMA_REGISTRY_URL": INTERNAL_REGISTRY_URL,
        "CONNECT_PLUGIN_PATH": "/usr/share/java,/usr/share/confluent-hub-components",
        "CONNECT_CONFIG_PROVIDERS": "env,file",
        "CONNECT_CONFIG_PROVIDERS_ENV_CLASS": ENV_CONFIG_PROVIDER,
        "CONNECT_CONFIG_PROVIDERS_FILE_CLASS": FILE_CONFIG_PROVIDER,
        "CONNECT_CONNECTOR_CLIENT_CONFIG_OVERRIDE_POLICY": "None",
        "CONNECT_REST_EXTENSION_CLASSES": BASIC_AUTH_EXTENSION,
    }
