"""Secrets a stack generates once and keeps only in its state, as secret outputs: passwords, tokens, keys.

A subclass names its secrets and how each is generated (`KINDS`) and its own resource type, so an existing
state keeps its values: they never change on `up`, and a state from before a secret was added gets just that
one (an update), the others are kept. No `random` provider plugin is served here, so this is a dynamic
resource the engine runs itself.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

#: how a secret of each kind is made; every kind is URL-safe, so it goes unescaped into URLs and properties files
GENERATORS: dict[str, Callable[[], str]] = {
    "fernet_key": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),  # the format Fernet expects
    "token": lambda: secrets.token_urlsafe(32),
    "password": lambda: secrets.token_urlsafe(18),
    "long_password": lambda: secrets.token_urlsafe(24),
}


class GeneratedSecretsProvider(ResourceProvider):
    def __init__(self, resource_id: str, kinds: Mapping[str, str]) -> None:
        super().__init__()
        unknown = sorted(set(kinds.values()) - GENERATORS.keys())
        if unknown:
            raise ValueError(f"unknown secret kind(s) {unknown}; known: {sorted(GENERATORS)}")
        self.resource_id = resource_id
        self.kinds = dict(kinds)

    def _missing(self, olds: Mapping[str, Any]) -> list[str]:
        return [name for name in self.kinds if not olds.get(name)]

    def _fresh(self, names: list[str]) -> dict[str, str]:
        return {name: GENERATORS[self.kinds[name]]() for name in names}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=self.resource_id, outs={**props, **self._fresh(list(self.kinds))})

    def diff(self, _id: str, olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=bool(self._missing(olds)), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**olds, **self._fresh(self._missing(olds))})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)


class GeneratedSecrets(Resource):
    """Subclass with `module=`/`name=` (the resource type), `RESOURCE_ID` and `KINDS` (secret name -> kind)."""

    RESOURCE_ID: ClassVar[str]
    KINDS: ClassVar[Mapping[str, str]]

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(self.KINDS))
        super().__init__(
            GeneratedSecretsProvider(self.RESOURCE_ID, self.KINDS),
            resource_name,
            dict.fromkeys(self.KINDS, ""),  # placeholders: create() fills them in
            pulumi.ResourceOptions.merge(opts, secret),
        )
