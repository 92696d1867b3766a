"""What query logs say of a metric: its runs, queriers and last run, and the window the logs cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from costscope.store.database import Store

__all__ = ["QueryUse", "QueryWindow", "day", "logged_queries", "query_use", "query_window"]


@dataclass(frozen=True)
class QueryUse:
    """How often logged queries read one metric: runs, distinct queries and queriers, the last run."""

    queries: int
    runs: int
    queriers: int
    last_at: float | None


@dataclass(frozen=True)
class QueryWindow:
    """The time the query logs of a snapshot cover, and how many query entries they held."""

    first_at: float | None
    last_at: float | None
    entries: int
    logs: int

    @property
    def days(self) -> float | None:
        """Days between the first and the last entry; None when the logs carry no times."""
        if self.first_at is None or self.last_at is None:
            return None
        return max(0.0, self.last_at - self.first_at) / 86_400


def day(t: float) -> str:
    """A unix time as its UTC date, ``2026-11-30``: stable across runs, unlike "2 days ago"."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def logged_queries(refs: pl.DataFrame) -> dict[str, tuple[int, frozenset[str], float | None]]:
    """Per logged query (its text): runs, queriers, last run."""
    rows = refs.filter(pl.col("kind") == "query").unique(["name", "origin"])
    out: dict[str, tuple[int, frozenset[str], float | None]] = {}
    for name, uses, clients, last in rows.select("name", "uses", "clients", "last_at").iter_rows():
        before = out.get(name, (0, frozenset(), None))
        lasts = [t for t in (before[2], last) if t is not None]
        out[name] = (
            before[0] + int(uses or 0),
            before[1] | frozenset(clients or ()),
            max(lasts) if lasts else None,
        )
    return out


def query_use(
    names: list[str], logged: dict[str, tuple[int, frozenset[str], float | None]]
) -> QueryUse | None:
    """What the logged queries ``names`` add up to; None when there are none."""
    stats = [logged[n] for n in names if n in logged]
    if not stats:
        return None
    lasts = [t for _, _, t in stats if t is not None]
    clients: frozenset[str] = frozenset().union(*(c for _, c, _ in stats))
    return QueryUse(len(stats), sum(u for u, _, _ in stats), len(clients), max(lasts) if lasts else None)


def query_window(store: Store, snapshot_id: int) -> QueryWindow | None:
    """The span the snapshot's query logs cover; None when it read none."""
    w = store.query(
        "SELECT min(first_at) AS first_at, max(last_at) AS last_at, sum(entries) AS entries, count(*) AS logs"
        " FROM query_windows WHERE snapshot_id = ?",
        [snapshot_id],
    )
    if not w.height or not w["logs"][0]:
        return None
    return QueryWindow(w["first_at"][0], w["last_at"][0], int(w["entries"][0] or 0), int(w["logs"][0]))
