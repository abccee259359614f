from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract.outputs import OUTPUT_KEYS, OutputsError, read_outputs
from devstack.config import DevstackConfig


def _devstack_outputs(tmp_path: Path) -> dict:
    from devstack.outputs import build_outputs

    return build_outputs(
        DevstackConfig(
            home=tmp_path,
            ports={
                "moto": 1,
                "gcs": 2,
                "firestore": 3,
                "ferretdb": 4,
                "kafka": 5,
                "kafka_controller": 6,
                "registry": 7,
                "connect": 8,
                "airflow": 9,
            },
        )
    )


def test_devstack_outputs_have_every_documented_key(tmp_path: Path) -> None:
    outputs = _devstack_outputs(tmp_path)
    assert set(OUTPUT_KEYS) <= set(outputs)
    assert outputs["kafka_bootstrap_servers"] == "127.0.0.1:5"
    assert outputs["endpoints"]["firestore"] == "127.0.0.1:3"
    assert outputs["s3_sink"]["bucket"] == outputs["s3_buckets"]["landing"]


def test_read_outputs_round_trips_a_file(tmp_path: Path) -> None:
    outputs = _devstack_outputs(tmp_path)
    path = tmp_path / "o.json"
    path.write_text(json.dumps(outputs))
    assert read_outputs(outputs_file=path) == outputs


def test_read_outputs_names_the_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(json.dumps({"stack": "x"}))
    with pytest.raises(OutputsError, match=r"o\.json: missing output key\(s\) aws_region"):
        read_outputs(outputs_file=path)


def test_read_outputs_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(OutputsError, match="exactly one"):
        read_outputs()
    with pytest.raises(OutputsError, match="no such outputs file"):
        read_outputs(outputs_file=tmp_path / "missing.json")
