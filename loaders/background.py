"""Work in background threads for the loaders' passes over a file, in order and with bounded memory: the next
block is read, parsed or checked (by pyarrow, polars or the compiled kernel, which release the GIL) while this
one is converted, written or sent."""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def read_ahead(items: Iterator[T], depth: int = 2, name: str = "read-ahead") -> Iterator[T]:
    """`items`, produced by a background thread; at most `depth` wait. An exception in the thread is raised
    here, where its item would have come; leaving early stops the thread."""
    done = object()
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # re-raised in the consumer
            put(exc)

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def in_order(work: Callable[[Any], R], items: Iterator[Any], workers: int) -> Iterator[R]:
    """`work` over `items` in `workers` threads, results in the items' order; at most `workers + 1` wait."""
    with ThreadPoolExecutor(workers, thread_name_prefix="convert") as pool:
        waiting: deque[Future[R]] = deque()
        for item in items:
            waiting.append(pool.submit(work, item))
            if len(waiting) > workers:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
