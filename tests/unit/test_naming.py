from __future__ import annotations

import pytest

from contract import naming


def test_names_follow_the_prefix_stack_role_pattern() -> None:
    assert naming.s3_bucket("kde", "dev", "landing") == "kde-dev-landing"
    assert naming.dynamodb_table("kde", "dev", "cards") == "kde-dev-cards-data"
    assert naming.bigquery_dataset("kde", "dev", "silver") == "kde_dev_finance_silver"


def test_seed_names_are_kept_for_topics_and_mongo() -> None:
    assert naming.kafka_topic("cards") == "cards-data"
    assert naming.schema_subject("cards-data") == "cards-data-value"
    assert naming.mongodb_database("kde") == "kde-db"
    assert naming.mongodb_collection("kde", "fraud_labels") == "kde-finance-train-fraud-labels"


@pytest.mark.parametrize("bad", ["KDE", "kde_x", "-kde", ""])
def test_invalid_name_parts_are_refused_with_the_part_named(bad: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        naming.s3_bucket(bad, "dev", "landing")
