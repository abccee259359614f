"""Diffs and refreshes of Airflow objects: which inputs changed, and what a refresh records where Airflow masked a
value (what it calls sensitive comes back as "***": every connection password, extra keys and variable keys that
look like secrets). A masked value reads back as the state's value, so a change made behind Pulumi's back to a
masked value is not seen on refresh."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import DiffResult

from components.airflow.client import MASK
from components.airflow.inputs import plain


def port_number(value: Any) -> int | None:
    # Pulumi hands numbers over as floats
    return None if value is None else int(value)


def changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    olds, news = plain(olds), plain(news)
    changed = []
    for key in fields:
        old, new = olds.get(key), news.get(key)
        if key == "port":
            old, new = port_number(old), port_number(new)
        if key == "extra":
            old, new = old or {}, new or {}
        if key == "secret":
            old, new = bool(old), bool(new)
        if old != new:
            changed.append(key)
    return changed


def object_diff(
    olds: Mapping[str, Any], news: Mapping[str, Any], fields: tuple[str, ...], replace_on: tuple[str, ...]
) -> DiffResult:
    changed = changed_keys(olds, news, fields)
    replaces = [k for k in changed if k in replace_on]
    # delete first: the same id on the same server (e.g. under another spelling of its URL) must not be
    # created by the replacement and then deleted by the old resource's delete
    return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)


def _same_but_masked(ours: Any, live: Any) -> bool:
    """True when `live` equals `ours` wherever Airflow did not mask it."""
    if live == MASK:
        return True
    if isinstance(ours, dict) and isinstance(live, dict):
        return ours.keys() == live.keys() and all(_same_but_masked(ours[k], live[k]) for k in ours)
    if isinstance(ours, list) and isinstance(live, list):
        return len(ours) == len(live) and all(_same_but_masked(o, v) for o, v in zip(ours, live, strict=True))
    return bool(ours == live)


def live_variable_value(ours: str | None, live: str | None) -> str | None:
    """The value to record on refresh: ours while the live one is it (masked or re-serialized: Airflow
    returns a JSON value re-dumped with masks in it), else the live one (drift)."""
    if ours is None or live is None or live == ours:
        return live
    if live == MASK:
        return ours
    try:
        ours_json, live_json = json.loads(ours), json.loads(live)
    except json.JSONDecodeError:
        return live
    return ours if _same_but_masked(ours_json, live_json) else live


def live_extra(ours: Mapping[str, Any] | None, live: Mapping[str, Any]) -> dict[str, Any]:
    """A connection's extra on refresh: masked keys keep our values; changed, added or removed keys show."""
    ours = ours or {}
    return {k: ours[k] if k in ours and _same_but_masked(ours[k], v) else v for k, v in live.items()}


def as_inputs(outs: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """What refresh read, as the inputs later diffs start from: a preview then names the drifted fields (the
    engine keeps secret whatever was secret in the old inputs)."""
    return {key: outs.get(key) for key in fields}
