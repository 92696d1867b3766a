"""Readers of metrics no source has: alerts that cannot fire, panels that stay empty, SLOs that lie."""

from __future__ import annotations

from typing import Any

import polars as pl

from costscope.analyze.readers import MAX_CHAIN, SEVERITY

MISSING_SCHEMA: dict[str, Any] = {
    "kind": pl.String, "name": pl.String, "panel": pl.String, "origin": pl.String, "metric": pl.String,
    "via": pl.String, "expr": pl.String,
}  # fmt: skip
_ABSENT = ("absent(", "absent_over_time(")  # an expression that means to find nothing is not broken
# Prometheus makes these for every target it scrapes; no exposition holds them, so where the
# snapshot read expositions (as a scrape would) they are there, not missing
SCRAPE_METRICS = frozenset(
    ("up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
     "scrape_series_added")
)  # fmt: skip

__all__ = ["MISSING_SCHEMA", "SCRAPE_METRICS", "readers_of_missing"]


_MISSING_EMPTY = pl.DataFrame(schema=MISSING_SCHEMA)


def readers_of_missing(refs: pl.DataFrame, present: set[str]) -> pl.DataFrame:
    """Readers of metrics that no source has and no recording rule makes, and readers of their rules."""
    exact = refs.filter(pl.col("name_match") == "exact")
    recorded = set(refs.filter(pl.col("kind") == "recording_rule")["name"].to_list())
    rows = []
    lost: set[str] = set()
    for row in exact.iter_rows(named=True):
        metric, expr = row["metric"], row["expr"] or ""
        if metric in present or metric in recorded or any(f in expr for f in _ABSENT):
            continue
        rows.append(
            {
                **{k: row[k] for k in ("kind", "name", "panel", "origin", "expr")},
                "metric": metric,
                "via": None,
            }
        )
        if row["kind"] == "recording_rule":
            lost.add(row["name"])
    # what reads a broken recording rule's output is broken through it (transitively)
    frontier, seen = set(lost), set(lost)
    for _ in range(MAX_CHAIN):
        nxt = set()
        for row in exact.filter(pl.col("metric").is_in(list(frontier))).iter_rows(named=True):
            rows.append(
                {
                    **{k: row[k] for k in ("kind", "name", "panel", "origin", "expr")},
                    "metric": row["metric"],
                    "via": row["metric"],
                }
            )
            if row["kind"] == "recording_rule" and row["name"] not in seen:
                seen.add(row["name"])
                nxt.add(row["name"])
        if not nxt:
            break
        frontier = nxt
    if not rows:
        return _MISSING_EMPTY
    order = {k: -v for k, v in SEVERITY.items()}
    return (
        pl.DataFrame(rows, schema=MISSING_SCHEMA)
        .unique(maintain_order=True)
        .sort(pl.col("kind").replace_strict(order, default=0, return_dtype=pl.Int64), "name", "metric")
    )
