"""A plan's actions for every other pipeline: one OpenTelemetry Collector fragment, Promtail and
Alloy stages, Refinery rules and Jaeger strategies, and exports in other vendors' documented
formats (Grafana Adaptive Metrics rules, vmagent relabelling and stream aggregation, Datadog
Metrics without Limits tag configurations).

Metric actions are rebuilt here from what they change (metric, labels, bucket bounds); log and
trace actions carry their config as YAML documents each opened by a comment naming where it goes,
and those of one place are merged into one document (lists joined, the first value of a setting
kept, a clash said in a note).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl
import yaml

from costscope.recommend.plan import COUNTER_TYPES, Plan, metric_changes
from costscope.recommend.plan_prometheus import drop_buckets, drop_names

__all__ = ["PlanExports", "alloy_process", "plan_exports"]

# where a document goes, by the words of its opening comment
_PLACES = (("OpenTelemetry Collector", "otelcol"), ("Promtail", "promtail"), ("Refinery", "refinery"),
           ("Jaeger sampling", "jaeger"))  # fmt: skip


@dataclass(frozen=True)
class PlanExports:
    """Documents per place (otelcol, promtail, refinery, jaeger, adaptive_metrics, vmagent_relabel,
    vmagent_stream_aggr, datadog), and notes on what a place could not take."""

    documents: dict[str, Any]
    notes: tuple[str, ...]


def _documents(config: str) -> list[tuple[str, Any]]:
    """(place, document) for each YAML document of an action's config, placed by its comment."""
    out = []
    for part in config.split("\n---\n"):
        header = next((ln for ln in part.splitlines() if ln.startswith("#")), "")
        place = next((p for words, p in _PLACES if words in header), None)
        if place is None or "at the source" in header:
            continue
        out.append((place, yaml.safe_load(part)))
    return out


def _merge(into: dict[str, Any], doc: dict[str, Any], path: str, notes: list[str]) -> None:
    for key, value in doc.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, f"{path}.{key}", notes)
        elif isinstance(into[key], list) and isinstance(value, list):
            into[key].extend(v for v in value if v not in into[key])
        elif into[key] != value:
            notes.append(f"{path}.{key}: two actions set it ({into[key]!r}, {value!r}); the first is kept")


def _kept(shapes: dict[str, Any], away: dict[str, list[str]]) -> dict[str, list[str]]:
    """The labels each aggregation keeps: all the metric has but those summed away (and bucket bounds)."""
    return {
        m: [lb for lb in shapes[m]["labels"] if lb not in (*labels, "le", "quantile")]
        for m, labels in away.items()
        if m in shapes
    }


def plan_exports(plan: Plan) -> PlanExports:
    """Every place's documents for ``plan``'s actions."""
    notes: list[str] = []
    docs: dict[str, Any] = {}
    changes = metric_changes(plan.actions)
    dropped, away, points = changes.dropped, changes.away, changes.points
    shapes = {r["metric"]: r for r in plan.shapes.iter_rows(named=True)}
    kept_of = _kept(shapes, away)
    collector: dict[str, Any] = {"processors": {}}
    if dropped:
        collector["processors"]["filter/costscope"] = {
            "error_mode": "ignore",
            "metrics": {"metric": [f"name == {json.dumps(m)}" for m in sorted(dropped)]},
        }
    if away:
        collector["processors"]["metricstransform/costscope"] = {
            "transforms": [
                {
                    "include": m,
                    "action": "update",
                    "operations": [
                        {
                            "action": "aggregate_labels",
                            "label_set": kept_of.get(m, []),
                            "aggregation_type": "sum",
                        }
                    ],
                }
                for m in sorted(away)
            ]
        }
    for m in sorted(points):
        notes.append(
            f"otelcol: the bucket cut of {m} belongs in the SDK's view (actions/), not the collector"
        )
    merged: dict[str, dict[str, Any]] = {"otelcol": collector}
    for row in plan.actions.filter(pl.col("metric").is_null()).iter_rows(named=True):
        for place, doc in _documents(str(row["config"] or "")):
            if isinstance(doc, dict):
                _merge(merged.setdefault(place, {}), doc, place, notes)
    if not collector["processors"] and len(collector) == 1:
        merged.pop("otelcol")
    docs.update(merged)
    docs["adaptive_metrics"] = _adaptive_metrics(dropped, away, shapes)
    docs["vmagent_relabel"] = _vmagent_relabel(dropped, points, shapes)
    docs["vmagent_stream_aggr"] = _vmagent_stream_aggr(away, shapes)
    docs["datadog"] = _datadog(away, kept_of, shapes)
    if dropped:
        notes.append(
            "datadog: Metrics without Limits configures tags, it cannot drop a metric; drop it at the Agent"
        )
    return PlanExports({k: v for k, v in docs.items() if v}, tuple(notes))


def _samples(shape: dict[str, Any] | None, metric: str) -> list[str]:
    return list(shape["samples"]) if shape and shape["samples"] else [metric]


def _is_counter(shape: dict[str, Any] | None, sample: str) -> bool:
    type_ = shape["type"] if shape else None
    if type_ == "summary":  # its quantiles are gauges; _sum and _count count
        return sample.endswith(("_sum", "_count"))
    return type_ in COUNTER_TYPES or sample.endswith("_total")


def _adaptive_metrics(
    dropped: frozenset[str], away: dict[str, list[str]], shapes: dict[str, Any]
) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for m in sorted(dropped):
        rules.extend({"metric": s, "drop": True} for s in _samples(shapes.get(m), m))
    for m, labels in sorted(away.items()):
        for s in _samples(shapes.get(m), m):
            agg = "sum:counter" if _is_counter(shapes.get(m), s) else "sum"
            rules.append({"metric": s, "drop_labels": labels, "aggregations": [agg]})
    return rules


def _vmagent_relabel(
    dropped: frozenset[str], points: dict[str, list[str]], shapes: dict[str, Any]
) -> list[dict[str, object]]:
    names = [s for m in sorted(dropped) for s in _samples(shapes.get(m), m)]
    out = [drop_names(names)] if names else []
    return out + [drop_buckets(m, les) for m, les in sorted(points.items())]


def _vmagent_stream_aggr(away: dict[str, list[str]], shapes: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m, labels in sorted(away.items()):
        for s in _samples(shapes.get(m), m):
            counter = _is_counter(shapes.get(m), s)
            out.append(
                {
                    "match": f'{{__name__="{s}"}}',
                    "interval": "1m",
                    "without": labels,
                    # a gauge's samples summed over the scrape interval: set interval to it
                    "outputs": ["total" if counter else "sum_samples"],
                    "keep_metric_names": True,
                }
            )
    return out


def _datadog(
    away: dict[str, list[str]], kept_of: dict[str, list[str]], shapes: dict[str, Any]
) -> list[dict[str, Any]]:
    out = []
    for m in sorted(away):
        if m not in kept_of:
            continue
        type_ = shapes[m]["type"] if m in shapes else None
        kind = (
            "distribution"
            if type_ in ("histogram", "summary")
            else "count"
            if _is_counter(shapes.get(m), m)
            else "gauge"
        )
        attributes: dict[str, Any] = {"tags": [k for k in kept_of[m] if k != "le"], "metric_type": kind}
        if kind == "distribution":
            attributes["include_percentiles"] = True
        out.append({"data": {"type": "manage_tags", "id": m, "attributes": attributes}})
    return out


def _alloy_string(value: object) -> str:
    return json.dumps(str(value))


def _alloy_stage(stage: dict[str, Any], indent: str) -> list[str]:
    ((name, body),) = stage.items()
    inner = indent + "  "
    lines = [f"{indent}stage.{name} {{"]
    if name == "metrics":
        for metric, spec in body.items():
            lines.append(f"{inner}metric.{str(spec.get('type', 'counter')).lower()} {{")
            lines.append(f"{inner}  name = {_alloy_string(metric)}")
            if spec.get("description"):
                lines.append(f"{inner}  description = {_alloy_string(spec['description'])}")
            for key, value in (spec.get("config") or {}).items():
                lines.append(f"{inner}  {key} = {json.dumps(value)}")
            lines.append(f"{inner}}}")
    else:
        for key, value in body.items():
            if key == "stages":
                for sub in value:
                    lines.extend(_alloy_stage(sub, inner))
            else:
                lines.append(
                    f"{inner}{key} = {json.dumps(value) if not isinstance(value, str) else _alloy_string(value)}"
                )
    lines.append(f"{indent}}}")
    return lines


def alloy_process(stages: list[dict[str, Any]]) -> str:
    """Promtail ``pipeline_stages`` as one Alloy ``loki.process`` component."""
    lines = [
        'loki.process "costscope" {',
        "  // your writer: loki.write's receiver",
        "  forward_to = [loki.write.default.receiver]",
        "",
    ]
    for stage in stages:
        lines.extend(_alloy_stage(stage, "  "))
    lines.append("}")
    return "\n".join(lines) + "\n"
