"""A small Airflow 3 REST API v2 client (plain `requests`), used by the Variable and Connection providers.

Every provider call first exchanges the API login for a JWT (`POST {api_url}/auth/token` with username and
password, what Airflow 3's auth managers expose; 201 -> `access_token`), then sends it as a bearer token to
`/api/v2/{collection}[/{id}]`. A client lives for one provider call: the providers keep no client, session or
token (Pulumi pickles them and runs them in another process). Errors name the method, endpoint and HTTP status
only, never a request or response body (a 422 echoes the request, with the secrets in it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

#: what Airflow's API returns instead of a value it masks
MASK = "***"
TIMEOUT_S = 10.0
UNAUTHORIZED = 401
CONFLICT = 409


class AirflowApiError(RuntimeError):
    """An Airflow REST call failed; the message names the method, endpoint and HTTP status, nothing else."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered


@dataclass(frozen=True)
class AirflowClient:
    """One call's view of the API: base URL and bearer token (built per provider call, never kept)."""

    base: str
    token: str

    @classmethod
    def login(cls, props: Mapping[str, Any]) -> AirflowClient:
        """Log in with the `api_url`, `api_username` and `api_password` of a resource's inputs."""
        base = str(props["api_url"]).rstrip("/")
        url = f"{base}/auth/token"
        try:
            response = requests.post(
                url,
                json={"username": props["api_username"], "password": props["api_password"]},
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise AirflowApiError(f"POST {url}: {type(exc).__name__} (is the Airflow API server up?)") from None
        raise_for_status("POST", url, response)
        return cls(base, str(response.json()["access_token"]))

    def call(self, method: str, path: str, body: Any = None, allow_404: bool = False) -> Any:
        url = f"{self.base}{path}"
        try:
            response = requests.request(
                method, url, json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT_S
            )
        except requests.RequestException as exc:
            raise AirflowApiError(f"{method} {url}: {type(exc).__name__}") from None
        if allow_404 and response.status_code == 404:
            return None
        raise_for_status(method, url, response)
        return response.json() if response.content else None

    def get(self, collection: str, ident: str) -> dict[str, Any] | None:
        """The object, or None when Airflow has none of that id."""
        found: dict[str, Any] | None = self.call("GET", object_path(collection, ident), allow_404=True)
        return found

    def create(self, collection: str, body: dict[str, Any]) -> None:
        self.call("POST", f"/api/v2/{collection}", body)

    def delete(self, collection: str, ident: str) -> None:
        """Delete the object; one already gone is fine."""
        self.call("DELETE", object_path(collection, ident), allow_404=True)

    def upsert(self, collection: str, ident: str, body: dict[str, Any], create_first: bool) -> None:
        """POST (409: it exists, PATCH it) or PATCH (404: it is gone, POST it): either way it ends as `body`."""
        if create_first:
            try:
                self.create(collection, body)
                return
            except AirflowApiError as exc:
                if exc.status != CONFLICT:
                    raise
            self.call("PATCH", object_path(collection, ident), body)
            return
        if self.call("PATCH", object_path(collection, ident), body, allow_404=True) is None:
            self.create(collection, body)


def login_for_refresh(props: Mapping[str, Any]) -> AirflowClient | None:
    """The API login for a refresh, or None when Airflow refuses the login the state holds (its substrate was
    recreated with a new password, e.g. devstack's home wiped): the object is then kept as the state has it,
    and the same `up`'s diff sees the new login and writes the object with it."""
    try:
        return AirflowClient.login(props)
    except AirflowApiError as exc:
        if exc.status == UNAUTHORIZED:
            return None
        raise


def raise_for_status(method: str, url: str, response: requests.Response) -> None:
    # no body: a 422 echoes the request (the secrets in it), and a 401 is about the password
    if response.status_code >= 400:
        message = f"{method} {url}: HTTP {response.status_code} {response.reason or ''}".rstrip()
        raise AirflowApiError(message, response.status_code)


def object_path(collection: str, ident: str) -> str:
    return f"/api/v2/{collection}/{quote(ident, safe='')}"
