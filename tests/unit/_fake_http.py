"""A scripted stand-in for `requests.request`: answers by (method, path), records every call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests


def response(status: int, body: Any = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = b"" if body is None else json.dumps(body).encode()
    return r


class FakeHttp:
    def __init__(self, routes: dict[tuple[str, str], list[requests.Response] | Callable[[Any], requests.Response]]):
        self.routes = routes
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, url: str, json: Any = None, **_: Any) -> requests.Response:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.calls.append((method, path, json))
        route = self.routes.get((method, path))
        if route is None:
            return response(404, {"message": f"no route {method} {path}"})
        if callable(route):
            return route(json)
        return route.pop(0) if len(route) > 1 else route[0]
