"""A cards record and its JSON schema, shared by the Kafka, registry and Connect tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from schemas import load as load_schema


def cards_schema_str() -> str:
    return json.dumps(load_schema("cards").json_schema())


def cards_record(card_id: int) -> dict[str, Any]:
    return {
        "id": card_id,
        "client_id": 825,
        "card_brand": "Visa",
        "card_type": "Debit",
        "card_number": 4344676511950444,
        "expires": "2022-12",
        "cvv": 623,
        "has_chip": True,
        "num_cards_issued": 2,
        "credit_limit": 24295.0,
        "acct_open_date": "2002-09",
        "year_pin_last_changed": 2008,
        "card_on_dark_web": False,
    }


def unique_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
