from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contract.outputs import (
    OUTPUT_KEYS,
    SUBSTRATE_KEYS,
    OutputsError,
    read_outputs,
    validate_outputs,
    validate_substrate,
)
from devstack.config import DEFAULT_PORTS, DevstackConfig
from devstack.outputs import build_outputs, write_outputs
from tests.unit._stack_runs import stack_run


def _substrate(tmp_path: Path) -> dict:
    return build_outputs(DevstackConfig(home=tmp_path, ports={n: 20000 + i for i, n in enumerate(DEFAULT_PORTS)}))


def test_devstack_publishes_the_substrate_assembled_from_its_services(tmp_path: Path) -> None:
    substrate = _substrate(tmp_path)
    assert set(substrate) == set(SUBSTRATE_KEYS)
    ports = {n: 20000 + i for i, n in enumerate(DEFAULT_PORTS)}
    assert substrate["kafka_bootstrap_servers"] == f"127.0.0.1:{ports['kafka']}"
    assert substrate["endpoints"] == {
        "s3": f"http://127.0.0.1:{ports['moto']}",
        "dynamodb": f"http://127.0.0.1:{ports['dynamodb']}",
        "gcs": f"http://127.0.0.1:{ports['gcs']}",
        "firestore": f"127.0.0.1:{ports['firestore']}",
    }
    assert substrate["s3_sink_flavour"] == "devstack"
    assert set(substrate["airflow_api"]) == {"url", "username", "password"}


def test_devstack_publishes_its_duckdb_warehouse_under_its_home(tmp_path: Path) -> None:
    cfg = DevstackConfig(home=tmp_path, ports={n: 20000 + i for i, n in enumerate(DEFAULT_PORTS)})
    assert build_outputs(cfg)["warehouse"] == {
        "kind": "duckdb",
        "silver": "silver",
        "gold": "gold",
        "path": str(tmp_path / "warehouse" / "finance.duckdb"),
        "project": None,
        "location": None,
        "airflow_connection": None,
    }
    write_outputs(cfg)
    assert (tmp_path / "warehouse").is_dir()  # dbt creates the file; devstack owns its folder


def test_a_nested_null_pulumi_dropped_from_the_warehouse_reads_as_null() -> None:
    outputs = stack_run("devstack").raw_outputs
    duckdb = {k: v for k, v in outputs["warehouse"].items() if v is not None}
    assert validate_outputs({**outputs, "warehouse": duckdb}, "o.json")["warehouse"] == outputs["warehouse"]


def test_devstack_publishes_no_platform_object(tmp_path: Path) -> None:
    """Topics, the S3 sink and the collections are the stack's: devstack's outputs do not name them."""
    substrate = _substrate(tmp_path)
    assert not {"kafka_topics", "s3_sink", "mongodb_collections", "firestore_collections"} & set(substrate)


def test_the_substrate_file_is_private(tmp_path: Path) -> None:
    cfg = DevstackConfig(home=tmp_path, ports={n: 20000 + i for i, n in enumerate(DEFAULT_PORTS)})
    path = write_outputs(cfg)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == build_outputs(cfg)


def test_the_devstack_stack_exports_the_contract_from_the_substrate(tmp_path: Path) -> None:
    run = stack_run("devstack")
    assert tuple(run.outputs) == OUTPUT_KEYS
    assert run.raw_outputs["s3_sink"]["flavour"] == "devstack"
    assert {"aws_credentials", "mongodb_uri"} <= run.secret_outputs
    validate_outputs(run.raw_outputs, "devstack stack")


def test_read_outputs_round_trips_a_file(tmp_path: Path) -> None:
    outputs = stack_run("devstack").raw_outputs
    path = tmp_path / "o.json"
    path.write_text(json.dumps(outputs))
    assert read_outputs(outputs_file=path) == outputs


def test_read_outputs_names_the_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"stack": "x"}))
    with pytest.raises(OutputsError, match=r"o\.json: missing output key\(s\) aws_region"):
        read_outputs(outputs_file=path)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("mongodb_collections", {}, None),
        ("kafka_topics", ["cards-data"], "'kafka_topics' must be a map of names to strings"),
        ("kafka_bootstrap_servers", "", "'kafka_bootstrap_servers' must be a non-empty string"),
        ("s3_sink", {"connector": "x"}, "'s3_sink' must be an object with connector, topics, bucket"),
        ("kafka_console_url", 3, "'kafka_console_url' must be a string or null"),
        ("warehouse", {"kind": "sqlite", "silver": "s", "gold": "g"}, "'warehouse' must be an object whose kind"),
        ("warehouse", {"kind": "duckdb", "silver": "s", "gold": "g"}, "'warehouse' .* non-empty path for kind duckdb"),
        (
            "warehouse",
            {"kind": "bigquery", "silver": "s", "gold": "g", "project": "p", "location": "EU"},
            "'warehouse' .* non-empty airflow_connection for kind bigquery",
        ),
        (
            "warehouse",
            {"kind": "duckdb", "silver": "s", "gold": "g", "path": "/w.duckdb", "project": "p"},
            "'warehouse' .* project null for kind duckdb",
        ),
        ("warehouse", {"kind": "duckdb", "silver": "", "gold": "g", "path": "/w"}, "'warehouse' .* non-empty silver"),
    ],
)
def test_a_wrong_shape_is_named_by_key(key: str, value: object, message: str | None) -> None:
    outputs = {**stack_run("devstack").raw_outputs, key: value}
    if message is None:
        validate_outputs(outputs, "o.json")  # an empty map is a valid shape: the consumer says what is missing
        return
    with pytest.raises(OutputsError, match=f"o.json: output {message}"):
        validate_outputs(outputs, "o.json")


def test_a_broken_substrate_is_named_by_key(tmp_path: Path) -> None:
    substrate = _substrate(tmp_path)
    del substrate["airflow_api"]
    with pytest.raises(OutputsError, match="missing output key\\(s\\) airflow_api"):
        validate_substrate(substrate, "devstack")


def test_read_outputs_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(OutputsError, match="exactly one"):
        read_outputs()
    with pytest.raises(OutputsError, match="no such outputs file"):
        read_outputs(outputs_file=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(OutputsError, match="not valid JSON"):
        read_outputs(outputs_file=tmp_path / "bad.json")
