"""How a consumer says that a server it reads or writes does not answer, in one line naming the service and its
address: the loaders stop a load with it, the reconcile stores report it."""

from __future__ import annotations

from typing import Any


class TargetUnreachable(RuntimeError):
    """The target's server does not answer: the message names the service and its address."""


def unreachable(
    service: str, address: str, cause: object, error: type[TargetUnreachable] = TargetUnreachable
) -> TargetUnreachable:
    """`error` (a subclass a consumer raises in its own family of errors) with the one-line reason."""
    reason = " ".join(str(cause).split())[:200]  # one line, whatever the client library's message looks like
    return error(f"{service} at {address} does not answer: {reason}")


def probe_endpoint(
    service: str, endpoint: str | None, timeout_s: float = 10.0, error: type[TargetUnreachable] = TargetUnreachable
) -> None:
    """A TCP connect to an emulator's endpoint (`http://host:port` or `host:port`), so a server that is down is
    TargetUnreachable at once instead of after the client library's retries (minutes for boto3's adaptive mode).
    Nothing to probe on a real cloud (no endpoint): its clients fail on their own timeouts."""
    import socket

    if not endpoint:
        return
    host, port = endpoint_host_port(endpoint)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise unreachable(service, f"{host}:{port}", exc.strerror or exc, error) from None


def endpoint_host_port(endpoint: str) -> tuple[str, int]:
    """`http://host:port` or `host:port` -> (host, port); the scheme's port when none is given."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    return parts.hostname or "localhost", parts.port or (443 if parts.scheme == "https" else 80)


def kafka_error_text(exc: Any) -> str:
    """The one-line reason of a KafkaException, whose first argument is a KafkaError or a plain string (e.g.
    list_topics's timeout): `.str()` on the string was an AttributeError that hid the broker's real error."""
    from confluent_kafka import KafkaError

    first = exc.args[0] if exc.args else type(exc).__name__
    return " ".join((first.str() if isinstance(first, KafkaError) else str(first)).split())
