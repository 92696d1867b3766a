"""What the usage section shows: who reads which metric, what nobody reads, what could not be read."""

from __future__ import annotations

from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import number, table

__all__ = ["usage_context"]


def _queries(a: Analysis) -> dict[str, Any] | None:
    """What the query logs say: the window they cover, and what is queried but never ingested."""
    usage = a.usage
    window = usage.window
    if window is None:
        return None
    days = window.days
    never = usage.not_ingested()
    return {
        "logs": window.logs,
        "entries": window.entries,
        "distinct": usage.summary()["queries"],
        "span": f"{days:.1f} days" if days is not None else "an unknown span (the logs carry no times)",
        "never": table(
            never,
            [("metric", "metric"), ("queries", "queries"), ("example", "a query")],
            {"queries"},
            limit=200,
        )
        if never.height
        else None,
    }


def usage_context(a: Analysis) -> dict[str, Any]:
    """Readers of each metric, unused metrics, broken readers, readers of no metric in particular and
    unreadable queries."""
    usage = a.usage
    if not usage.known:
        return {"known": False}
    m = usage.metrics
    unused = m.filter(pl.col("status") == "unused")
    missing = usage.missing.filter(pl.col("kind") != "query")
    unread = usage.unread()
    counts = ["dashboards", "alerts", "recording_rules", "slos", "queries", "query_runs", "queriers"]
    return {
        "known": True,
        "queries": _queries(a),
        "missing": table(
            missing,
            [("kind", "kind"), ("name", "name"), ("panel", "panel or group"), ("metric", "missing metric"),
             ("via", "through rule"), ("origin", "where")],
            set(), limit=300,
        )
        if missing.height
        else None,
        "missing_readers": missing.unique(["kind", "name"]).height,
        "unused_count": unused.height,
        "metric_count": m.height,
        "window_note": usage.window_note(),
        "unused_series": int(unused["series"].sum()) if unused.height else 0,
        "unused_cost": number("monthly_cost", float(unused["monthly_cost"].sum()) if unused.height else 0.0),
        "unused": table(unused, [("metric", "metric"), ("series", "series"), ("monthly_cost", "monthly cost")],
                        {"series", "monthly_cost"}, limit=300),
        "used": table(
            m.filter(pl.col("status") == "used"),
            [("metric", "metric"), ("series", "series"), ("monthly_cost", "monthly cost"),
             ("dashboards", "dashboards"), ("alerts", "alerts"), ("recording_rules", "rules"), ("slos", "SLOs"),
             ("queries", "queries"), ("query_runs", "query runs"), ("queriers", "queriers"),
             ("labels_needed", "labels read"), ("labels_unused", "labels nobody reads"), ("readers", "readers")],
            {"series", "monthly_cost", *counts},
            limit=300,
        ),
        "keep_used": table(
            usage.keep_used,
            [("metric", "metric"), ("kept", "labels kept"), ("dropped", "labels dropped"),
             ("series_before", "before"), ("series_after", "after"), ("monthly_savings", "saves/month")],
            {"series_before", "series_after", "monthly_savings"},
        )
        if usage.keep_used.height
        else None,
        "unread": table(
            unread,
            [("kind", "kind"), ("name", "name"), ("panel", "panel"), ("problem", "problem"), ("message", "why"),
             ("expr", "expression")],
            set(),
        )
        if unread.height
        else None,
        "unread_count": unread.height,
        "read_none": table(
            usage.read_none(),
            [("kind", "kind"), ("name", "name"), ("panel", "panel"), ("problem", "reads"), ("message", "why"),
             ("expr", "expression")],
            set(),
        )
        if usage.read_none().height
        else None,
        "read_none_count": usage.read_none().height,
    }  # fmt: skip
