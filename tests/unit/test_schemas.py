from __future__ import annotations

import pytest

import schemas
from schemas import DATASETS, UnknownDatasetError


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_schema_loads_with_its_key_among_required_fields(dataset: str) -> None:
    schema = schemas.load(dataset)
    assert schema.key, dataset
    for key in schema.key:
        assert schema.field(key).required, f"{dataset}: key {key} must be required"
        assert not schema.field(key).nullable, f"{dataset}: key {key} must not be nullable"
    if schema.sort_key:
        assert schema.field(schema.sort_key).required


def test_cards_keys_match_the_seed_dynamodb_table() -> None:
    cards = schemas.load("cards")
    assert cards.title == "cards-data"
    assert cards.key == ("id",)
    assert cards.sort_key == "client_id"
    assert cards.field("credit_limit").parse == "money"
    assert cards.field("has_chip").json_type == "boolean"


def test_registry_schema_has_no_project_annotations() -> None:
    plain = schemas.load("transactions").json_schema()
    text = repr(plain)
    assert "x-parse" not in text and "x-key" not in text and "x-source" not in text
    assert plain["properties"]["zip"]["type"] == ["string", "null"]
    assert plain["required"]


def test_document_id_joins_the_key_fields() -> None:
    assert schemas.load("cards").document_id({"id": 7, "client_id": 3}) == "7"


def test_unknown_dataset_names_the_known_ones() -> None:
    with pytest.raises(UnknownDatasetError, match="known datasets: cards, users"):
        schemas.load("card")


def test_dynamodb_keys_refuse_what_dynamodb_cannot_key_on() -> None:
    from dataclasses import replace

    from schemas import load

    cards = load("cards")
    flagged = replace(cards, sort_key="has_chip")  # a boolean
    with pytest.raises(ValueError, match=r"cards\.has_chip: type boolean cannot be a DynamoDB key"):
        flagged.dynamodb_keys()
    with pytest.raises(ValueError, match="single-field key"):
        replace(cards, key=("id", "client_id")).dynamodb_keys()
