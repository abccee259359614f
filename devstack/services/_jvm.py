"""What the JVM services (Kafka broker, Connect worker) share: finding Java, resolving a pom's jars with Maven
into the install cache (atomically), JVM options and a log4j2 configuration.

The poms live in devstack/jvm/ (one parent pins the Kafka version); Maven resolves them through whatever
repository the machine's Maven is configured for, so no host name appears in this project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from devstack.service import ServiceError

JVM_DIR = Path(__file__).resolve().parent.parent / "jvm"

#: a marker written last, so a half-copied install is never mistaken for a complete one
COMPLETE_MARKER = ".complete"

LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c{1})%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.state-change.name = state.change.logger
logger.state-change.level = WARN
logger.kafka-clients.name = org.apache.kafka
logger.kafka-clients.level = WARN
logger.connect.name = org.apache.kafka.connect
logger.connect.level = INFO
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.jetty.name = org.eclipse.jetty
logger.jetty.level = WARN
"""


def java_executable() -> str:
    """`$JAVA_HOME/bin/java` if set, else `java` on PATH (Java 17+ is needed by Kafka 4)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ServiceError("no `java` found: install a JDK 17+ (e.g. apt-get install openjdk-17-jre-headless)")
    return found


def maven_executable() -> str:
    found = shutil.which("mvn")
    if not found:
        raise ServiceError("no `mvn` found: install Maven (e.g. apt-get install maven)")
    return found


def is_complete(folder: Path) -> bool:
    return (folder / COMPLETE_MARKER).exists()


#: one Maven at a time in this process: Maven 3.8 does not lock its local repository against a second build
#: (services install concurrently), and two runs writing the same artifact can leave it truncated
_MAVEN_LOCK = threading.Lock()


def run_maven(args: list[str], what: str, timeout: float = 900) -> None:
    cmd = [maven_executable(), "-B", "-q", *args]
    try:
        with _MAVEN_LOCK:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{what}: Maven did not finish within {timeout:.0f}s: {' '.join(cmd)}") from None
    if proc.returncode != 0:
        out = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise ServiceError(f"{what}: Maven failed ({' '.join(cmd)}):\n{out}")


def copy_dependencies(pom: Path, dest: Path, what: str) -> None:
    """Resolve `pom`'s runtime jars into `dest/`, atomically: into a temp folder, then rename."""
    if is_complete(dest):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        run_maven(
            ["-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
            what,
        )
        if not any(tmp.glob("*.jar")):
            raise ServiceError(f"{what}: Maven resolved no jars from {pom}")
        (tmp / COMPLETE_MARKER).write_text("")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def classpath(*folders: Path) -> str:
    # a JVM wildcard entry per folder: every jar in it, without listing them
    return os.pathsep.join(f"{f}/*" for f in folders)


def jvm_options(heap_mb: int, log4j_config: Path) -> list[str]:
    return [
        f"-Xmx{heap_mb}m",
        "-Xms32m",
        "-XX:+UseSerialGC",  # the smallest footprint; these are single-user dev servers on a 2-core box
        "-XX:TieredStopAtLevel=1",  # C1 only: faster start, less JIT memory
        "-XX:MaxMetaspaceSize=192m",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dlog4j2.configurationFile={log4j_config}",
    ]


def write_log4j_config(run_dir: Path) -> Path:
    path = run_dir / "log4j2.properties"
    path.write_text(LOG4J2_PROPERTIES)
    return path


def write_properties(path: Path, props: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
