"""The runner's side of the stacks (no engine): which config a stack gets and how the substrate is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.config import REPO_ROOT, ConfigError, file_config, parse
from stacks.engine import EngineError, stack_config


def test_every_stack_file_is_read_with_structured_values_as_json() -> None:
    config, secure = file_config("local")
    assert config["modern-data-pipeline:emulated"] == "true"
    assert config["modern-data-pipeline:ports"].startswith("{")
    assert secure == []


def test_the_runner_copies_the_stack_file_and_the_overrides() -> None:
    config = stack_config("devstack", {"substrateOutputs": "/tmp/x.json"})
    assert config["modern-data-pipeline:substrate"].value == "devstack"
    assert config["modern-data-pipeline:substrateOutputs"].value == "/tmp/x.json"


def test_an_unknown_stack_names_the_known_ones() -> None:
    with pytest.raises(
        EngineError, match=r"Pulumi.staging.yaml: no such stack config \(stacks: dev, devstack, local, prod\)"
    ):
        stack_config("staging")


def test_a_secure_value_needs_the_standard_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.s.yaml").write_text("config:\n  modern-data-pipeline:mongodbPassword:\n    secure: AAAB\n")
    monkeypatch.setattr("stacks.engine.file_config", lambda stack: file_config(stack, tmp_path))
    with pytest.raises(EngineError, match=r"secure value.*standard Pulumi CLI"):
        stack_config("s")


def test_devstack_substrate_needs_no_cloud_keys_and_reads_its_file_from_devstack_s_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DEVSTACK_HOME", raising=False)
    cfg = parse("devstack", {"substrate": "devstack"})
    assert (cfg.substrate, cfg.emulated) == ("devstack", True)
    assert cfg.substrate_outputs == REPO_ROOT / ".devstack" / "outputs.json"
    monkeypatch.setenv("DEVSTACK_HOME", str(tmp_path))
    assert parse("devstack", {"substrate": "devstack"}).substrate_outputs == tmp_path / "outputs.json"
    assert parse("devstack", {"substrate": "devstack", "substrateOutputs": "/x/o.json"}).substrate_outputs == Path(
        "/x/o.json"
    )


def test_docker_stacks_still_require_their_cloud_keys_and_a_known_substrate() -> None:
    with pytest.raises(ConfigError, match="awsRegion: missing"):
        parse("dev", {})
    with pytest.raises(ConfigError, match="substrate: 'k8s' is not one of docker, devstack"):
        parse("dev", {"substrate": "k8s", "awsRegion": "us-east-1", "gcpProject": "kde-dev"})


def test_a_missing_devstack_substrate_file_is_one_line_naming_it(tmp_path: Path) -> None:
    import pulumi

    from stacks.substrate import read_devstack_outputs

    with pytest.raises(pulumi.RunError, match=r"outputs.json: no such devstack outputs file; start devstack first"):
        read_devstack_outputs(tmp_path / "outputs.json")


def test_the_program_can_run_many_times_in_one_process_without_pickles_recursion() -> None:
    """pulumi.dynamic's serialize_provider wraps pickle's _batch_setitems once more on every call and never
    restores it (at the default recursion limit, ~970 providers in one process raise RecursionError); every run of
    the program starts from pickle's own (stacks.engine.unwrap_pickler)."""
    import sys

    from pulumi.dynamic import ResourceProvider
    from pulumi.dynamic.dynamic import serialize_provider

    from stacks.engine import unwrap_pickler

    runs, providers_per_run = 100, 20  # a long fault-suite session's worth of `up`s
    assert runs * providers_per_run > sys.getrecursionlimit()
    for _ in range(runs):
        unwrap_pickler()
        for _ in range(providers_per_run):
            serialize_provider(ResourceProvider())
