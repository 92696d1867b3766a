"""Making the next item of an iterator in a worker thread while the caller uses this one.

A file's chunks are parsed (polars, which releases the GIL) while the previous chunk is appended
to DuckDB (which does too): on two cores the two overlap instead of taking turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(items: Iterable[T]) -> Iterator[T]:
    """Yield ``items`` in order, each next one made in a worker thread meanwhile (one ahead)."""
    it = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="costscope-read-ahead") as pool:
        pending = pool.submit(next, it, _END)
        while (item := pending.result()) is not _END:
            pending = pool.submit(next, it, _END)
            yield item  # type: ignore[misc]
