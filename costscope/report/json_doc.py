"""The ``--json`` document: one versioned object for pipelines (see docs/json.md).

Fields are added, never renamed, without a ``schema_version`` bump.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from costscope._version import __version__
from costscope.analyze import Analysis
from costscope.simulate.engine import Simulation

SCHEMA_VERSION = 1


def _rows(df: pl.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    frame = df.select(columns) if columns else df
    return [{k: _clean(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


MAX_TEMPLATES = 500  # the most expensive templates; the store holds them all


def _trends(analysis: Analysis) -> dict[str, Any] | None:
    t = analysis.trends
    if t is None:
        return None
    return {
        "baseline_snapshot": t.baseline_id,
        "baseline_started_at": t.baseline_started_at,
        "changes": _rows(t.changes.filter(pl.col("status") != "same")),
        "churn": _rows(t.churn.head(MAX_TEMPLATES)),
    }


def _sampling(analysis: Analysis) -> dict[str, Any] | None:
    sim = analysis.traces.sampling
    return None if sim is None else sampling_document(sim)


def sampling_document(sim: Simulation) -> dict[str, Any]:
    """A simulation as plain values: constraints, the recommended policy, policies side by side, RED."""
    c = sim.constraints
    return {
        "period_s": sim.period_s,
        "slow_ms": sim.slow_ms,
        "constraints": {"min_error_traces_kept": c.min_error_traces_kept, "max_p99_error": c.max_p99_error,
                        "slo_ms": c.slo_ms},
        "recommended": sim.recommended,
        "policies": _rows(sim.summary),
        "red": _rows(sim.red),
    }  # fmt: skip


def json_document(analysis: Analysis) -> dict[str, Any]:
    """The JSON document for ``analysis`` as plain Python values."""
    model = analysis.cost_model
    return {
        "schema_version": SCHEMA_VERSION,
        "costscope_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "snapshot": {
            "id": analysis.snapshot_id,
            "status": analysis.status,
            "run_id": analysis.run_id,
            "started_at": analysis.started_at,
        },
        "cost_model": {
            "name": model.name,
            "as_of": model.as_of,
            "source": model.source,
            "overridden": list(model.overridden),
            "checked": dict(sorted(model.checked.items())),
            "unchecked": list(model.unchecked),
            "prices": dict(sorted(model.prices.items())),
            "description": model.describe(),
        },
        "totals": {
            "series": analysis.total_series,
            "monthly_cost": round(analysis.total_monthly_cost, 2),
        },
        "metrics": _rows(
            analysis.metrics, ["metric", "type", "series", "share", "monthly_cost", "jobs", "coverage"]
        ),
        "label_drops": _rows(analysis.label_drops),
        "keep_sets": _rows(analysis.keep_sets),
        "labels": _rows(analysis.labels),
        "top_label_pairs": _rows(analysis.top_pairs),
        "histograms": _rows(analysis.histograms),
        "teams": _rows(
            analysis.by_team.group_by("team")
            .agg(pl.col("series").sum(), pl.col("monthly_cost").sum())
            .sort(["monthly_cost", "team"], descending=[True, False])
        ),
        "values_masked": analysis.values_masked,
        "dpm": _rows(analysis.dpm),
        "recommendations": _rows(analysis.recommendations),
        "plan": None
        if analysis.plan_bill is None
        else {
            "actions": analysis.plan_bill[0],
            "total_before": round(analysis.plan_bill[1], 2),
            "total_after": round(analysis.plan_bill[2], 2),
        },
        "logs": {
            "known": analysis.logs.known,
            "monthly_cost": round(analysis.logs.monthly_cost, 2),
            "volume": _rows(analysis.logs.volume),
            "templates": _rows(analysis.logs.templates.head(MAX_TEMPLATES)),
            "actions": _rows(analysis.logs.actions),
            "readers": _rows(analysis.logs.readers_frame()),
            "attributes": _rows(analysis.logs.attributes),
        },
        "traces": {
            "known": analysis.traces.known,
            "monthly_cost": round(analysis.traces.monthly_cost, 2),
            "operations": _rows(analysis.traces.operations),
            "attributes": _rows(analysis.traces.attributes),
            "resource_attributes": _rows(analysis.traces.resource_attributes),
        },
        "sampling": _sampling(analysis),
        "trends": _trends(analysis),
        "budgets": [b.as_dict() for b in analysis.breaches],
        "usage": {
            **analysis.usage.summary(),
            "metrics": _rows(analysis.usage.metrics),
            "keep_used_labels": _rows(analysis.usage.keep_used),
            "problems": _rows(analysis.usage.problems),
            "missing_metrics": _rows(analysis.usage.missing),
            "queried_not_ingested_metrics": _rows(analysis.usage.not_ingested()),
            "query_window": _window(analysis),
        },
        "sources": _rows(analysis.sources),
        "errors": _rows(analysis.errors),
        "timings": {k: round(v, 4) for k, v in analysis.timings.items()},
    }


def _window(analysis: Analysis) -> dict[str, object] | None:
    """The time the query logs cover (ISO times), or null when none was read."""
    w = analysis.usage.window
    if w is None:
        return None

    def iso(t: float | None) -> str | None:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if t is not None else None

    days = w.days
    return {"from": iso(w.first_at), "to": iso(w.last_at), "days": round(days, 2) if days is not None else None,
            "entries": w.entries, "logs": w.logs}  # fmt: skip


def write_json(analysis: Analysis, target: str | Path) -> None:
    """Write the document to a file, or to stdout when ``target`` is ``-``."""
    text = json.dumps(json_document(analysis), indent=2, ensure_ascii=False) + "\n"
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        Path(target).write_text(text, encoding="utf-8")
