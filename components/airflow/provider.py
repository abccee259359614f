"""One dynamic provider for the objects Airflow's REST API v2 keeps (components/airflow/objects.py: a Variable, a
Connection), told apart by a class attribute, so an instance holds no state and pickles by reference.

Lifecycle: create POSTs (and PATCHes an object that already exists, so a first `up` adopts what e.g. an import
left); the id input or `api_url` changing replaces the object, any other change PATCHes it in place; delete
DELETEs it (404 is fine: already gone). `read()` (refresh) reports drift: an object deleted behind Pulumi's back
disappears from the state (the next `up` creates it again), edited fields show up in the next diff.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.airflow.client import AirflowClient, login_for_refresh
from components.airflow.drift import as_inputs
from components.airflow.objects import CONNECTION, VARIABLE, RestObject


class RestObjectProvider(ResourceProvider):
    kind: ClassVar[RestObject]

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, self.kind.failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return self.kind.diff(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        kind, ident = self.kind, props[self.kind.id_input]
        AirflowClient.login(props).upsert(kind.collection, ident, kind.body(props), create_first=True)
        return CreateResult(id_=ident, outs=dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        kind, ident = self.kind, news[self.kind.id_input]
        client, body = AirflowClient.login(news), kind.body(news)
        if kind.recreate_on_update(olds, news):
            client.delete(kind.collection, ident)
            client.create(kind.collection, body)
        else:
            client.upsert(kind.collection, ident, body, create_first=False)
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = login_for_refresh(props)
        if client is None:
            return ReadResult(id_, props)
        live = client.get(self.kind.collection, id_)
        if live is None:
            return ReadResult(None, {})
        outs = {**props, **self.kind.live(props, live)}
        return ReadResult(id_, outs, as_inputs(outs, self.kind.inputs))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        AirflowClient.login(props).delete(self.kind.collection, id_)


class VariableProvider(RestObjectProvider):
    kind = VARIABLE


class ConnectionProvider(RestObjectProvider):
    kind = CONNECTION
