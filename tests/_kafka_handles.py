"""Every librdkafka handle the test process opens (Producer, Consumer, AdminClient) is tracked from its creation.

A handle that is neither closed nor freed as soon as its last reference goes keeps its broker threads running:
after the suite's Kafka stops, they print "Connect to ipv4#127.0.0.1:16040 failed" again and again until the
cyclic garbage collector happens to find it, or the interpreter exits. So at the session's end a handle still
open, or one that only the garbage collector freed (it sat in a reference cycle, e.g. a producer whose delivery
callback is a method of the object holding it), is a leak, named by where it was created.

`install()` must run before a test module does `from confluent_kafka import Producer`: tests/conftest.py calls it
when it is imported.
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
_VENV = str(REPO_ROOT / ".venv")


@dataclass
class Handle:
    kind: str
    created_at: str
    closed: bool = False


#: handles alive now, by the id of the weak reference that watches each
_alive: dict[int, tuple[weakref.ReferenceType[Any], Handle]] = {}
#: handles that were never closed and that the cyclic garbage collector freed
_collected: list[Handle] = []
#: the thread running a garbage collection now, if any (another thread may free a handle meanwhile, by refcount)
_collector: int | None = None


def _on_gc(phase: str, _info: dict[str, int]) -> None:
    global _collector
    _collector = threading.get_ident() if phase == "start" else None


def _gone(ref: weakref.ReferenceType[Any]) -> None:
    entry = _alive.pop(id(ref), None)
    if entry is not None and not entry[1].closed and _collector == threading.get_ident():
        _collected.append(entry[1])


def _site(frame: FrameType | None) -> str:
    """Our innermost frame (product or test code) and the test's own frame below it: 'a.py:12 <- tests/b.py:30'."""
    ours: list[str] = []
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(REPO_ROOT)) and not filename.startswith(_VENV):
            name = Path(filename).name
            if not ours or name.startswith("test_"):
                ours.append(f"{Path(filename).relative_to(REPO_ROOT)}:{frame.f_lineno} ({frame.f_code.co_name})")
            if name.startswith("test_"):
                break
        frame = frame.f_back
    return " <- ".join(ours) or "outside this repository"


def _register(handle: Any, kind: str) -> None:
    record = Handle(kind, _site(sys._getframe(2)))
    ref = weakref.ref(handle, _gone)
    _alive[id(ref)] = (ref, record)
    handle._leak_record = record


def _tracked(base: Any) -> Any:
    """A subclass of `base` that registers each instance and notes its close(), named as `base` is."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        base.__init__(self, *args, **kwargs)
        _register(self, base.__name__)

    namespace: dict[str, Any] = {"__init__": __init__, "__module__": base.__module__, "__qualname__": base.__qualname__}
    if hasattr(base, "close"):

        def close(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = base.close(self, *args, **kwargs)
            self._leak_record.closed = True
            return result

        namespace["close"] = close
    return type(base.__name__, (base,), namespace)


def _track_in_place(cls: Any) -> None:
    """AdminClient is a Python class whose __init__ names itself (`super(AdminClient, self)`): a subclass under its
    name would recurse, so its own __init__ is wrapped instead (it has no close)."""
    init = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _register(self, cls.__name__)

    cls.__init__ = __init__  # type: ignore[misc]


def install() -> None:
    """Track confluent_kafka's Producer, Consumer and AdminClient (once)."""
    import confluent_kafka
    import confluent_kafka.admin

    if _on_gc in gc.callbacks:
        return
    confluent_kafka.Producer = _tracked(confluent_kafka.Producer)  # type: ignore[misc]
    confluent_kafka.Consumer = _tracked(confluent_kafka.Consumer)  # type: ignore[misc]
    _track_in_place(confluent_kafka.admin.AdminClient)
    gc.callbacks.append(_on_gc)


def leaks() -> list[str]:
    """One line per handle left open: still open now, or found only by the garbage collector earlier."""
    gc.collect()  # a handle only a cycle still holds is freed here, and counts as left to the collector
    lines = [f"{h.kind} created at {h.created_at}: freed only by the garbage collector" for h in _collected]
    for ref, record in list(_alive.values()):
        if not record.closed and ref() is not None:
            lines.append(f"{record.kind} created at {record.created_at}: still open")
    return lines
