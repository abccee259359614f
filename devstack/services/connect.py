"""Kafka Connect, one distributed worker, REST on loopback, with devstack's S3 sink plugin in plugin.path.

Install: the worker's jars from devstack/jvm/connect/pom.xml -> install/connect/lib (same Kafka version as the
broker, pinned in devstack/jvm/pom.xml); the S3 sink plugin built from devstack/jvm/s3-sink (its jar plus its
runtime jars) -> install/connect/plugins/s3-sink, one folder per plugin.

Why our own S3 sink: the Maven Central reachable here serves no S3 sink connector (Aiven's, Confluent's and
Camel's are all absent). The plugin keeps Confluent's S3 sink's promises, so a user's config means the same:
its keys, types and defaults; its object names (`<topics.dir>/<topic>/partition=<p>/<topic>+<p>+<start
offset:010d>.json[.gz]`, or the TimeBasedPartitioner's `path.format` folders); rotation on `flush.size`,
`rotate.interval.ms` (record time) and `rotate.schedule.interval.ms` (wall clock); gzip; `behavior.on.null.values`;
offsets committed only for what is in S3, and a partition skips the records of every batch S3 holds whole (read
back from the objects' metadata), so neither a crashed worker's re-delivery nor a rewind writes a record twice,
and a rewind rewrites exactly the batches the lake lost; S3 down or its bucket missing is retried
(`retry.backoff.ms`), never fatal to the task. Its
`validate()` also refuses keys it does not know, naming them (Confluent's ignores them). JSON lines, AWS SDK v2
with endpoint override and path-style access (moto).

Converters: producers use confluent-kafka's JSONSerializer (magic byte + 4-byte schema id + JSON). The plugin's
`SchemaRegistryJsonConverter` strips that prefix (and passes plain JSON through), and the sink writes the bytes
unchanged: S3 gets the producer's original JSON documents, one per line. Kafka's own JsonConverter with
schemas.enable=false also works for plain-JSON producers (e.g. header_schema_id_serializer), re-serialized.

Secrets: the worker gets the emulated account's S3 keys in its process environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY) and Kafka's EnvVarConfigProvider (`config.providers=env`), so connector configs hold
only `${env:AWS_SECRET_ACCESS_KEY}`-style references: the REST API, the config topic and the Pulumi state never
see a key (the worker resolves the references when it starts a connector, and writes task configs back with
the references). The REST API takes HTTP basic auth (Kafka's BasicAuthSecurityRestExtension with a JAAS
PropertyFileLoginModule): one user whose password is generated once per devstack home into the 0600 file
`rest-users.properties` in the run dir, published as the SECRET substrate output `kafka_connect_auth`.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import requests

from contract.s3_sink import CONNECTOR_CLASSES
from devstack import account, process
from devstack.service import Service, ServiceError
from devstack.services import _jvm

#: which S3 sink plugin this worker runs, published in the outputs (contract.s3_sink writes its config)
S3_SINK_FLAVOUR = "devstack"
S3_SINK_CLASS = CONNECTOR_CLASSES[S3_SINK_FLAVOUR]
PLUGIN_SOURCE = _jvm.JVM_DIR / "s3-sink"
CONNECT_POMS = (_jvm.JVM_DIR / "pom.xml", _jvm.JVM_DIR / "connect" / "pom.xml")
BASIC_AUTH_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
LOGIN_MODULE = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"
ENV_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
REST_USER = "devstack"
#: what the lib folder was resolved from (the Connect poms), so a new jar in the pom reinstalls it
LIB_STAMP = ".pom-sha256"


class KafkaConnect(Service):
    name = "connect"
    port_names = ("connect",)
    depends_on = ("kafka", "s3")
    description = "Kafka Connect distributed worker + S3 sink plugin"
    start_timeout = 120.0
    heap_mb = 384

    @property
    def lib_dir(self) -> Path:
        return self.install_dir / "lib"

    @property
    def plugin_path(self) -> Path:
        return self.install_dir / "plugins"

    @property
    def s3_plugin_dir(self) -> Path:
        return self.plugin_path / "s3-sink"

    @property
    def config_file(self) -> Path:
        return self.run_dir / "connect-distributed.properties"

    @property
    def base_url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    @property
    def users_file(self) -> Path:
        return self.run_dir / "rest-users.properties"

    @property
    def jaas_file(self) -> Path:
        return self.run_dir / "rest-jaas.conf"

    def rest_credentials(self) -> dict[str, str]:
        """`{"username", "password"}` of the REST API; the password is generated on first call (0600 file),
        so the outputs carry it before the first start too."""
        try:
            lines = self.users_file.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            user, _, password = line.partition("=")
            if user == REST_USER and password:
                return {"username": REST_USER, "password": password}
        password = secrets.token_urlsafe(24)  # URL-safe characters: no escaping in a properties file
        self.run_dir.mkdir(parents=True, exist_ok=True)
        process.write_private(self.users_file, f"{REST_USER}={password}\n")
        return {"username": REST_USER, "password": password}

    @property
    def auth(self) -> tuple[str, str]:
        creds = self.rest_credentials()
        return creds["username"], creds["password"]

    @staticmethod
    def plugin_stamp() -> str:
        digest = hashlib.sha256()
        # the plugin's sources only: its tests (src/test, run by tests/devstack/test_s3_sink_java.py) build nothing
        files = [
            _jvm.JVM_DIR / "pom.xml",
            PLUGIN_SOURCE / "pom.xml",
            *sorted((PLUGIN_SOURCE / "src" / "main").rglob("*")),
        ]
        for f in files:
            if f.is_file():
                digest.update(str(f.relative_to(_jvm.JVM_DIR)).encode())
                digest.update(f.read_bytes())
        return digest.hexdigest()

    def _plugin_current(self) -> bool:
        stamp = self.s3_plugin_dir / _jvm.COMPLETE_MARKER
        return stamp.exists() and stamp.read_text() == self.plugin_stamp()

    @staticmethod
    def lib_stamp() -> str:
        digest = hashlib.sha256()
        for pom in CONNECT_POMS:
            digest.update(pom.read_bytes())
        return digest.hexdigest()

    def _lib_current(self) -> bool:
        stamp = self.lib_dir / LIB_STAMP
        return _jvm.is_complete(self.lib_dir) and stamp.exists() and stamp.read_text() == self.lib_stamp()

    def is_installed(self) -> bool:
        return self._lib_current() and self._plugin_current()

    def install(self) -> None:
        if not self._lib_current():
            (self.lib_dir / _jvm.COMPLETE_MARKER).unlink(missing_ok=True)  # resolve the poms' jars again
            _jvm.copy_dependencies(CONNECT_POMS[-1], self.lib_dir, "connect")
            (self.lib_dir / LIB_STAMP).write_text(self.lib_stamp())
        if not self._plugin_current():
            self._build_plugin()

    def _build_plugin(self) -> None:
        self.plugin_path.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".s3-sink-", dir=self.plugin_path))
        try:
            build, plugin = work / "build", work / "s3-sink"
            pom = str(PLUGIN_SOURCE / "pom.xml")
            _jvm.run_maven(
                ["-f", pom, "package", "-DskipTests", f"-Ddevstack.build.dir={build}"], "connect: building the S3 sink"
            )
            _jvm.run_maven(
                [
                    "-f",
                    pom,
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={plugin}",
                    f"-Ddevstack.build.dir={build}",
                ],
                "connect: resolving the S3 sink's jars",
            )
            jars = list(build.glob("devstack-s3-sink-*.jar"))
            if not jars:
                raise ServiceError(f"connect: the S3 sink build produced no jar in {build}")
            shutil.copy2(jars[0], plugin / jars[0].name)
            (plugin / _jvm.COMPLETE_MARKER).write_text(self.plugin_stamp())
            if self.s3_plugin_dir.exists():
                shutil.rmtree(self.s3_plugin_dir)
            plugin.rename(self.s3_plugin_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def worker_properties(self) -> dict[str, str]:
        host = self.cfg.host
        return {
            "bootstrap.servers": f"{host}:{self.cfg.port('kafka')}",
            "group.id": "devstack-connect",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "config.storage.topic": "_devstack-connect-configs",
            "offset.storage.topic": "_devstack-connect-offsets",
            "status.storage.topic": "_devstack-connect-status",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "status.storage.replication.factor": "1",
            "offset.storage.partitions": "1",
            "status.storage.partitions": "1",
            "offset.flush.interval.ms": "5000",
            "listeners": f"http://{host}:{self.port}",
            "rest.advertised.host.name": host,
            "rest.advertised.port": str(self.port),
            "plugin.path": str(self.plugin_path),
            # every plugin here (Kafka's own and ours) declares itself in META-INF/services: no classpath scan
            "plugin.discovery": "service_load",
            "scheduled.rebalance.max.delay.ms": "0",
            # a killed worker's sink consumers leave their groups after 10 s instead of 45 s, so a restarted
            # worker resumes its connectors' partitions promptly
            "consumer.session.timeout.ms": "10000",
            # connector configs reference the S3 keys (`${env:AWS_SECRET_ACCESS_KEY}`), see env()
            "config.providers": "env",
            "config.providers.env.class": ENV_CONFIG_PROVIDER,
            # every REST call needs the user of rest-users.properties (the JAAS file names it)
            "rest.extension.classes": BASIC_AUTH_EXTENSION,
        }

    def env(self) -> dict[str, str]:
        """The worker's environment: the S3 keys its connectors reference through the env config provider
        (readable only by this user, as /proc/<pid>/environ is)."""
        creds = account.FAKE_AWS_CREDENTIALS
        return {"AWS_ACCESS_KEY_ID": creds["access_key_id"], "AWS_SECRET_ACCESS_KEY": creds["secret_access_key"]}

    def prepare(self) -> None:
        _jvm.write_log4j_config(self.run_dir)
        _jvm.write_properties(self.config_file, self.worker_properties())
        self.rest_credentials()
        jaas = f'KafkaConnect {{\n  {LOGIN_MODULE} required\n  file="{self.users_file}";\n}};\n'
        process.write_private(self.jaas_file, jaas)

    def command(self) -> list[str]:
        return [
            _jvm.java_executable(),
            *_jvm.jvm_options(self.heap_mb, self.run_dir / "log4j2.properties"),
            f"-Djava.security.auth.login.config={self.jaas_file}",
            "-cp",
            _jvm.classpath(self.lib_dir),
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(self.config_file),
        ]

    def published(self) -> dict[str, Any]:
        return {
            "kafka_connect_url": self.base_url,
            "kafka_connect_auth": self.rest_credentials(),
            "s3_sink_flavour": S3_SINK_FLAVOUR,
        }

    def ready(self) -> bool:
        resp = requests.get(f"{self.base_url}/connector-plugins", auth=self.auth, timeout=3)
        return resp.status_code == 200 and any(p.get("class") == S3_SINK_CLASS for p in resp.json())
