"""One section of the screen, read on its own: its data, or one line saying why it could not be read."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

#: how long any one server may take to answer before its section gives up on it
TIMEOUT_S = 5.0


class Unreadable(RuntimeError):
    """The section cannot be read; the message is the one line the screen shows (it names the server)."""


def guarded(name: str, locate: Callable[[], str], collect: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """`{"error": None, **collect(where)}` for the server `locate()` names, or `{"error": "<name>: <why>"}` when
    it cannot be found, is not listening or fails: a section never raises."""
    import requests

    where = "?"
    try:
        where = locate()
        require_listening(name, where)
        return {"error": None, **collect(where)}
    except Unreadable as exc:
        return {"error": str(exc)}
    except requests.ConnectionError:
        return {"error": f"{name}: not reachable at {where}"}
    except requests.Timeout:
        return {"error": f"{name}: no answer within {TIMEOUT_S:.0f}s at {where}"}
    except Exception as exc:  # the screen shows what it could read, whatever a server answered
        return {"error": f"{name}: {type(exc).__name__}: {first_line(str(exc))} ({where})"}


def require_listening(name: str, where: str) -> None:
    """Unreadable("kafka: not reachable at 127.0.0.1:15040") unless something accepts a TCP connection there:
    a closed port fails at once, before a client library starts its own retries."""
    host, port = host_port(where)
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            return
    except OSError:
        raise Unreadable(f"{name}: not reachable at {where}") from None


def host_port(where: str) -> tuple[str, int]:
    """The first `host:port` of a URL or of a bootstrap list (`h1:9092,h2:9092`)."""
    first = where.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"tcp://{first}")
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    if parts.hostname is None or port is None:
        raise Unreadable(f"{where!r}: not a host:port or a URL")
    return parts.hostname, port


def first_line(text: str | None) -> str:
    """The first non-blank line of a message or a Java stack trace ("" for none)."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""
