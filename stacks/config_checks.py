"""The checks every stack config value goes through, each failing with a `ConfigError` that names the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contract.outputs import PROJECT
from schemas import DATASETS


class ConfigError(ValueError):
    """A stack config value is missing or invalid; the message names the key to fix."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {PROJECT}:{key}: {problem}")
        self.key = key


def choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = str(raw.get(key) or choices[0])
    if value not in choices:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def required(raw: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = raw.get(key) or default
    if value is None or str(value).strip() == "":
        raise ConfigError(key, f"missing; set it with `pulumi config set {key} <value>`")
    return str(value).strip()


def boolean(raw: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(key, f"{value!r} is not true or false")


def integer(raw: Mapping[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = raw.get(key)
    if value is None:
        return default
    return bounded_int(key, value, low, high)


def bounded_int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(key, f"{value!r} is not an integer")
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not an integer") from None
    if not low <= number <= high:
        raise ConfigError(key, f"{number} is outside {low}..{high}")
    return number


def datasets(raw: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "expected a non-empty list of dataset ids")
    unknown = [d for d in value if d not in DATASETS]
    if unknown:
        raise ConfigError(key, f"unknown dataset(s) {', '.join(map(str, unknown))}; known: {', '.join(DATASETS)}")
    return tuple(value)
