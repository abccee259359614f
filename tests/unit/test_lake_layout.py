"""The lake's names against the golden file the S3 sink plugin's JUnit tests read too (contract/lake_layout.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from contract import lake_layout
from contract.lake_layout import S3Target, SinkError, SinkObject

GOLDEN: dict[str, Any] = json.loads(lake_layout.GOLDEN_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", GOLDEN["s3_sink"], ids=lambda c: c["name"])
def test_sink_object_names_are_written_as_the_golden_file_says(case: dict[str, Any]) -> None:
    name = lake_layout.sink_object_name(
        case["topics_dir"],
        case["topic"],
        case["folder"],
        case["partition"],
        case["start_offset"],
        case["compression"],
        case["zero_pad_width"],
    )
    assert name == case["name"]
    assert name.startswith(lake_layout.sink_topic_prefix(case["topics_dir"], case["topic"]))
    assert lake_layout.is_sink_object(name)


@pytest.mark.parametrize("case", GOLDEN["s3_sink"], ids=lambda c: c["name"])
def test_sink_object_names_are_read_back_as_the_golden_file_says(case: dict[str, Any]) -> None:
    folder = f"{case['topics_dir']}/{case['topic']}/{case['folder']}"
    expected = SinkObject(folder, case["topic"], case["partition"], case["start_offset"])
    assert lake_layout.parse_sink_object_name(case["name"]) == expected


@pytest.mark.parametrize("key", [c["key"] for c in GOLDEN["not_s3_sink_names"]])
def test_a_key_that_is_no_sink_object_name_is_one_error_naming_it(key: str) -> None:
    with pytest.raises(SinkError, match=f"^{re.escape(key)}: not an S3 sink object name"):
        lake_layout.parse_sink_object_name(key)


def test_the_default_partitioners_folder_is_the_golden_files() -> None:
    default = [c for c in GOLDEN["s3_sink"] if c["folder"].startswith("partition=")]
    assert default
    for case in default:
        assert lake_layout.default_partition_folder(case["partition"]) == case["folder"]


def test_batch_metadata_keys_are_the_golden_files() -> None:
    keys = GOLDEN["batch_metadata"]
    written = (lake_layout.BATCH_START, lake_layout.BATCH_END, lake_layout.BATCH_OBJECTS, lake_layout.WRITTEN_AT)
    assert written == (keys["start"], keys["end"], keys["objects"], keys["written_at"])


@pytest.mark.parametrize("case", GOLDEN["dlt"], ids=lambda c: c["key"])
def test_dlt_keys_are_laid_out_and_read_back_as_the_golden_file_says(case: dict[str, Any]) -> None:
    target = S3Target(bucket="landing", prefix=case["prefix"])
    assert case["key"].startswith(target.table_prefix(case["dataset"], case["table"]))
    assert lake_layout.is_dlt_data_file(case["key"]) is case["data_file"]
    if case["load_id"] is not None:
        assert lake_layout.dlt_load_id_of(case["key"]) == case["load_id"]


def test_dlt_load_ids_order_as_numbers() -> None:
    assert lake_layout.dlt_load_order("999.5") < lake_layout.dlt_load_order("1000.1")
