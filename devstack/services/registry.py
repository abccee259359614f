"""Schema registry: Apicurio Registry 2.4.2.Final, its SQL storage on an H2 file, with its Confluent-compatible REST
API at /apis/ccompat/v7 (/subjects/{s}/versions, /schemas/ids/{id}, /config/{s}, ...). That base URL is what devstack
publishes as `schema_registry_url`, so confluent-kafka's SchemaRegistryClient, JSONSerializer and
JSONDeserializer, the subject resource and the S3 sink converter all use it unchanged.

Install: Apicurio publishes no runnable archive on Maven Central, so devstack/jvm/apicurio/pom.xml assembles
the Quarkus application from its jars (`mvn package`: a runner jar + lib/) into install/registry/app, rebuilt
when the pom or src/ changes. src/ holds one patched class of the JSON Schema library Apicurio checks
compatibility with, so that it accepts our schemas' draft 2020-12 `$schema` (see its header). Start: `java -jar`
of the runner jar; ready when the ccompat API lists subjects.
Storage: the H2 database Apicurio 2.4.2 builds in ("in-memory" storage is its SQL storage on `jdbc:h2:mem`) is
pointed at a file instead (REGISTRY_DATASOURCE_URL, the variable its prod profile reads): run/registry/data/
registry.mv.db holds subjects, versions, schema ids, their content, rules and the id sequences, so they survive
`devstack down`/`up` and a kill -9, and a schema registered after a restart gets an id above every earlier one
(an id inside an old Kafka record keeps naming the same schema). WRITE_DELAY=0 makes H2 write each commit to the
file before the request answers (its default batches commits for half a second, which a kill -9 loses); it does
not fsync each commit, so an operating-system crash (not a process crash) may lose the last few. The file grows
with the schemas (kilobytes each) plus H2's own overhead of a few megabytes; Apicurio creates its tables on the
first start and finds them on the next.
Apicurio enforces no compatibility until a rule is set, so `up` sets the global default to BACKWARD, as
Confluent's registry has it, when no global rule is stored yet; subjects may override it (`PUT /config/{s}`) with
any level but NONE: Apicurio 2.4.2's ccompat API stores a subject's NONE as "no subject rule", so the global
BACKWARD applies to it.

Why Apicurio 2.4.2: a real registry with Confluent's API that resolves here; 2.6.x and 3.x miss modules in the
repository reachable here (and 3.x needs Java 21); Confluent's registry and Karapace are not served at all.
Its error bodies carry Confluent's error codes (40401 subject, 40402 version, 40403 schema not found, 409
incompatible, 422 invalid) but word the messages differently.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import requests

from devstack.service import Service, ServiceError
from devstack.services import _jvm

SOURCE = _jvm.JVM_DIR / "apicurio"
POM = SOURCE / "pom.xml"
CCOMPAT_PATH = "/apis/ccompat/v7"
DEFAULT_COMPATIBILITY = "BACKWARD"
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
#: Apicurio's own API for the global rules: tells an unset global compatibility (404) from a set one
GLOBAL_COMPATIBILITY_RULE = "/apis/registry/v2/admin/rules/COMPATIBILITY"
#: each commit written to the file before it answers; a 16 MB page cache inside the 256 MB heap (H2's default: 64 MB)
H2_SETTINGS = "WRITE_DELAY=0;CACHE_SIZE=16384"


class SchemaRegistry(Service):
    name = "registry"
    port_names = ("registry",)
    description = "Schema Registry, Confluent REST API (Apicurio Registry 2.4.2, H2 file)"
    start_timeout = 60.0
    heap_mb = 256

    @property
    def app_dir(self) -> Path:
        return self.install_dir / "app"

    @property
    def base_url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}{CCOMPAT_PATH}"

    @staticmethod
    def pom_stamp() -> str:
        """What the build depends on: the pom and our one patched class."""
        digest = hashlib.sha256()
        for f in [POM, *sorted((SOURCE / "src").rglob("*"))]:
            if f.is_file():
                digest.update(str(f.relative_to(SOURCE)).encode())
                digest.update(f.read_bytes())
        return digest.hexdigest()

    @property
    def database_url(self) -> str:
        return f"jdbc:h2:file:{self.data_dir / 'registry'};{H2_SETTINGS}"

    def env(self) -> dict[str, str]:
        return {"REGISTRY_DATASOURCE_URL": self.database_url}

    def runner_jar(self) -> Path:
        jars = sorted(self.app_dir.glob("*-runner.jar"))
        if not jars:
            raise ServiceError(f"registry: no *-runner.jar in {self.app_dir}; run `python -m devstack install`")
        return jars[0]

    def is_installed(self) -> bool:
        marker = self.app_dir / _jvm.COMPLETE_MARKER
        return marker.exists() and marker.read_text() == self.pom_stamp()

    def install(self) -> None:
        """`mvn package` into a scratch folder; its runner jar and lib/ replace app/ only when complete."""
        self.install_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".app-", dir=self.install_dir))
        try:
            build = work / "build"
            _jvm.run_maven(
                ["-f", str(POM), "package", "-DskipTests", f"-Ddevstack.build.dir={build}"],
                "registry: building Apicurio Registry",
            )
            runners = list(build.glob("*-runner.jar"))
            if not runners or not (build / "lib").is_dir():
                raise ServiceError(f"registry: the Apicurio build produced no runner jar and lib/ in {build}")
            app = work / "app"
            app.mkdir()
            shutil.move(str(runners[0]), app / runners[0].name)
            shutil.move(str(build / "lib"), app / "lib")
            (app / _jvm.COMPLETE_MARKER).write_text(self.pom_stamp())
            if self.app_dir.exists():
                shutil.rmtree(self.app_dir)
            app.rename(self.app_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def command(self) -> list[str]:
        return [
            _jvm.java_executable(),
            *_jvm.jvm_options(self.heap_mb, self.run_dir / "log4j2.properties"),
            f"-Dquarkus.http.host={self.cfg.host}",
            f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.log.level=WARN",
            "-Dquarkus.log.category.io.quarkus.level=INFO",  # keeps the "started in" line in the log
            # ONE worker thread: Apicurio 2.4.2's storage on H2 is not safe under concurrent writes
            # (parallel first registrations, as `pulumi up` makes them, fail with lock timeouts and duplicate
            # sequence keys, or hang); one connection would deadlock its nested queries, one worker serializes
            # the requests instead
            "-Dquarkus.thread-pool.max-threads=1",
            "-jar",
            str(self.runner_jar()),
        ]

    def published(self) -> dict[str, Any]:
        return {"schema_registry_url": self.base_url}

    def ready(self) -> bool:
        resp = requests.get(f"{self.base_url}/subjects", timeout=2)
        return resp.status_code == 200 and isinstance(resp.json(), list)

    def provision(self) -> None:
        """The global compatibility, BACKWARD, unless one is stored already (kept from an earlier run)."""
        root = f"http://{self.cfg.host}:{self.port}"
        stored = requests.get(f"{root}{GLOBAL_COMPATIBILITY_RULE}", timeout=10)
        if stored.status_code == 200:
            return
        if stored.status_code != 404:
            raise ServiceError(
                f"registry: reading the global compatibility at {GLOBAL_COMPATIBILITY_RULE} failed: "
                f"HTTP {stored.status_code}: {stored.text[:300]}"
            )
        resp = requests.put(
            f"{self.base_url}/config",
            json={"compatibility": DEFAULT_COMPATIBILITY},
            headers={"Content-Type": CONTENT_TYPE},
            timeout=10,
        )
        if resp.status_code != 200:
            raise ServiceError(
                f"registry: setting the global compatibility to {DEFAULT_COMPATIBILITY} failed: "
                f"HTTP {resp.status_code}: {resp.text[:300]}"
            )
