"""What the report's drill-down panels show, embedded in the page as JSON.

Clicking a metric (a table cell, a bar, a treemap tile), a log statement or a trace operation
opens a panel built in the browser from these records, with ``textContent`` only: the values are
untrusted and never become markup. The JSON itself is escaped for the script element it sits in
(``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes). Records are bounded by the number of metrics,
statements and operations shown, never by series.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.analyze.log_readers import readers_of, template_lines
from costscope.report.html.tables import number, shown

MAX_METRICS = 500
MAX_TEMPLATES = 200
MAX_OPERATIONS = 200
MAX_ROWS = 50  # per list inside one panel


def _rows_by(df: pl.DataFrame, key: str, columns: list[str]) -> dict[Any, list[dict[str, Any]]]:
    """The first ``MAX_ROWS`` rows of each value of ``key``, each value as the text the report
    shows (numbers formatted), in one pass over ``df``: a frame per key, for hundreds of
    metrics, took a quarter of a second."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for row in df.select(key, *(c for c in columns if c != key)).iter_rows(named=True):
        rows = out.setdefault(row[key], [])
        if len(rows) < MAX_ROWS:
            rows.append({c: _text(c, row[c]) for c in columns})
    return out


def _text(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(column, value)
    if isinstance(value, list):
        return [shown(v) for v in value[:MAX_ROWS]]
    return shown(value)


def _metric_panels(a: Analysis) -> dict[str, dict[str, Any]]:
    metrics = a.metrics.head(MAX_METRICS)
    names = metrics["metric"].to_list()
    wanted = pl.col("metric").is_in(names)
    jobs = _rows_by(
        a.by_job.filter(wanted).sort("series", descending=True, maintain_order=True),
        "metric",
        ["job", "series", "monthly_cost"],
    )
    teams = _rows_by(
        a.by_team.filter(wanted).sort("series", descending=True, maintain_order=True),
        "metric",
        ["team", "series", "monthly_cost"],
    )
    drops = _rows_by(
        a.label_drops.filter(wanted).sort("series_saved", descending=True, maintain_order=True),
        "metric",
        ["label", "label_values", "series_after", "monthly_savings", "coverage"],
    )
    recs = a.recommendations
    actions = (
        _rows_by(
            recs.filter(wanted), "metric", ["rank", "kind", "target", "monthly_savings", "risk", "config"]
        )
        if "metric" in recs.columns
        else {}
    )
    usage = (
        {r["metric"]: r for r in a.usage.metrics.filter(wanted).iter_rows(named=True)}
        if a.usage.known
        else {}
    )
    risky = set(a.risky_labels["label"].to_list()) if a.values_masked else set()
    panels = {}
    for row in metrics.iter_rows(named=True):
        name = row["metric"]
        read = usage.get(name)
        panels[name] = {
            "title": shown(name),
            "facts": [
                ["type", row["type"] or "unknown"],
                ["active series", number("series", row["series"])],
                ["monthly cost", number("monthly_cost", row["monthly_cost"])],
                ["share of the bill", number("share", row["share"])],
                ["counted", row["coverage"]],
                ["help", shown(row["help"] or "")],
            ],
            "jobs": jobs.get(name, []),
            "teams": teams.get(name, []),
            "labels": [
                {**r, "masked": "values masked (risky)" if r["label"] in risky else ""}
                for r in drops.get(name, [])
            ],
            "readers": [shown(r) for r in (read["readers"] if read else [])][:MAX_ROWS],
            "needs": list(read["labels_needed"]) if read else [],
            "unread": list(read["labels_unused"]) if read else [],
            "read_known": a.usage.known,
            "actions": actions.get(name, []),
        }
    return panels


def _template_panels(a: Analysis) -> dict[str, dict[str, Any]]:
    logs = a.logs
    if not logs.known:
        return {}
    panels = {}
    actions = _rows_by(
        logs.actions,
        "template",
        ["kind", "service", "level", "monthly_savings", "lost_error_lines", "lost_trace_lines"],
    )
    readers = list(logs.readers)
    for row in logs.templates.head(MAX_TEMPLATES).iter_rows(named=True):
        lines = [template_lines(row["template"], row["example"])]
        read_by = {
            r.describe()
            for service in (row["services"] or [None])
            for r in readers_of(readers, service, row["level"], lines)
        }
        panels[row["template_id"]] = {
            "title": shown(row["template"]),
            "facts": [
                ["level", row["level"] or "(none)"],
                ["services", ", ".join(row["services"] or [])],
                ["lines", number("lines", row["lines"])],
                ["lines per minute", number("lines_per_minute", row["lines_per_minute"])],
                ["monthly cost", number("monthly_cost", row["monthly_cost"])],
                ["error lines", number("error_lines", row["error_lines"])],
                ["lines with a trace id", number("trace_lines", row["trace_lines"])],
                ["example (masked)", shown(row["example"] or "")],
            ],
            "readers": sorted(shown(r) for r in read_by)[:MAX_ROWS],
            "actions": actions.get(row["template"], []),
        }
    return panels


def _operation_panels(a: Analysis) -> dict[str, dict[str, Any]]:
    t = a.traces
    if not t.known:
        return {}
    # per policy × operation: the spans and errors it keeps, and how far the RED figures land
    red = (
        _rows_by(
            t.sampling.red.with_columns(operation_key(), kept=pl.col("n"), errors_kept=pl.col("e")),
            "op_key",
            ["policy", "kept", "errors_kept", "rate_error", "p99_error", "estimable"],
        )
        if t.sampling is not None
        else {}
    )
    panels = {}
    for row in t.operations.head(MAX_OPERATIONS).with_columns(operation_key()).iter_rows(named=True):
        spans = row["spans"] or 0.0
        panels[row["op_key"]] = {
            "title": shown(f"{row['service']} · {row['operation']}"),
            "facts": [
                ["spans read", number("spans", spans)],
                ["spans per month", number("monthly_spans", row["monthly_spans"])],
                ["error share", number("error_share", (row["error_spans"] or 0.0) / spans if spans else 0.0)],
                ["p50", number("p50_ms", row["p50_ms"] or 0.0)],
                ["p99", number("p99_ms", row["p99_ms"] or 0.0)],
                ["monthly cost", number("monthly_cost", row["monthly_cost"])],
            ],
            "policies": red.get(row["op_key"], []),
        }
    return panels


def operation_key() -> pl.Expr:
    """The panel key of a trace operation (``op_key``): its service and name, apart."""
    return pl.concat_str(["service", "operation"], separator="\x1f").alias("op_key")


def drill_data(a: Analysis) -> dict[str, Any]:
    """Every panel's record: ``metric``, ``template`` and ``operation``, by key."""
    return {"metric": _metric_panels(a), "template": _template_panels(a), "operation": _operation_panels(a)}
