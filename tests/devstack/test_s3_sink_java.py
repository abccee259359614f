"""The S3 sink plugin's own unit tests (JUnit 5, devstack/jvm/s3-sink/src/test), run by Maven: rotation, S3 down
at open and mid-batch, rewinds over a lake with holes or partial batches, wall-clock cuts, re-created topics, and
the object names against contract/lake_layout_golden.json (which tests/unit/test_lake_layout.py checks too).
`make setup` builds the plugin with -DskipTests; this test is where they run, so `make test` fails when one of them
does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.services import _jvm

pytestmark = pytest.mark.devstack

POM = _jvm.JVM_DIR / "s3-sink" / "pom.xml"


def test_the_s3_sink_plugins_junit_tests_pass(tmp_path: Path) -> None:
    # the build goes to tmp_path, not into the source tree (devstack.build.dir, as devstack's own build does)
    cmd = [_jvm.maven_executable(), "-B", "-q", "-f", str(POM), "test", f"-Ddevstack.build.dir={tmp_path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    output = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
    assert proc.returncode == 0, f"mvn test of {POM} failed:\n{output}"
    reports = list((tmp_path / "surefire-reports").glob("TEST-*.xml"))
    assert reports, f"mvn test of {POM} ran no test class (no surefire report in {tmp_path})"
