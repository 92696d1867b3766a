"""OTLP metrics as series under Prometheus' OTLP translation (see ``sources.otlp`` for the rules)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from costscope.sources.otlp import documents
from costscope.sources.sinks import MetricsSink
from costscope.sources.traces import _attr_map, _get

BATCH_POINTS = 100_000

# --- metrics -------------------------------------------------------------------------------------

_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds",
    "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius",
    "Hz": "hertz", "%": "percent",
}  # fmt: skip
_PER = {
    "s": "second",
    "m": "minute",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}
_BAD = re.compile(r"[^a-zA-Z0-9_:]")


def _sanitize(name: str) -> str:
    out = _BAD.sub("_", name)
    out = re.sub(r"__+", "_", out)
    return "_" + out if out[:1].isdigit() else out


def prometheus_name(name: str, unit: str, kind: str, monotonic: bool) -> str:
    """The name Prometheus' OTLP translation gives a metric (with unit and type suffixes)."""
    base = _sanitize(name)
    unit = re.sub(r"\{[^}]*\}", "", unit or "").strip()
    suffix = ""
    if unit == "1":
        suffix = "ratio" if kind == "gauge" else ""
    elif unit:
        main, _, per = unit.partition("/")
        words = [_UNITS.get(main, _sanitize(main))] if main else []
        if per:
            words.append("per_" + _PER.get(per, _UNITS.get(per, _sanitize(per))))
        suffix = "_".join(w for w in words if w)
    if suffix and not base.endswith("_" + suffix):
        base += "_" + suffix
    if kind == "sum" and monotonic and not base.endswith("_total"):
        base += "_total"
    return base


def _resource_labels(resource: dict[str, Any]) -> list[tuple[str, str]]:
    service = resource.get("service.name")
    namespace = resource.get("service.namespace")
    labels = []
    if service is not None:
        labels.append(("job", f"{namespace}/{service}" if namespace else str(service)))
    if resource.get("service.instance.id") is not None:
        labels.append(("instance", str(resource["service.instance.id"])))
    return labels


def _point_labels(point: dict[str, Any]) -> list[tuple[str, str]]:
    attrs = _attr_map(point.get("attributes"))
    return [(_sanitize(k), v if isinstance(v, str) else json.dumps(v)) for k, v in attrs.items()]


def _bound(b: Any) -> str:
    value = float(b)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


_TYPES = {"gauge": "gauge", "sum": "counter", "histogram": "histogram", "exponentialHistogram": "histogram",
          "summary": "summary"}  # fmt: skip
_TEMPORALITY = {1: "delta", 2: "cumulative", "AGGREGATION_TEMPORALITY_DELTA": "delta",
                "AGGREGATION_TEMPORALITY_CUMULATIVE": "cumulative"}  # fmt: skip


class MetricsFrames:
    """Collects the series of OTLP metric documents and hands them to a sink in batches."""

    def __init__(self, sink: MetricsSink) -> None:
        self.sink = sink
        self.points = 0
        self._rows: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._meta: dict[str, tuple[str, str | None, str | None, str | None]] = {}

    def add(self, doc: dict[str, Any]) -> None:
        """Every series of one ``MetricsData`` document."""
        for rm in _get(doc, "resourceMetrics") or []:
            resource = _resource_labels(_attr_map((_get(rm, "resource") or {}).get("attributes")))
            for sm in _get(rm, "scopeMetrics") or []:
                scope = _get(sm, "scope") or {}
                scoped = list(resource)
                if scope.get("name"):
                    scoped.append(("otel_scope_name", str(scope["name"])))
                if scope.get("version"):
                    scoped.append(("otel_scope_version", str(scope["version"])))
                for metric in sm.get("metrics") or []:
                    self._metric(metric, scoped)
        if len(self._rows) >= BATCH_POINTS:
            self.flush()

    def _metric(self, metric: dict[str, Any], scoped: list[tuple[str, str]]) -> None:
        kind = next((k for k in _TYPES if k in metric), None)
        if kind is None:
            return
        data = metric[kind] or {}
        monotonic = bool(_get(data, "isMonotonic"))
        family = prometheus_name(
            str(metric.get("name") or ""), str(metric.get("unit") or ""), kind, monotonic
        )
        type_ = "gauge" if kind == "sum" and not monotonic else _TYPES[kind]
        temporality = _TEMPORALITY.get(_get(data, "aggregationTemporality"))
        self._meta[family] = (
            type_,
            metric.get("description") or None,
            metric.get("unit") or None,
            temporality,
        )
        for point in _get(data, "dataPoints") or []:
            self.points += 1
            labels = scoped + _point_labels(point)
            if kind == "histogram":
                bounds = [_bound(b) for b in _get(point, "explicitBounds") or []] + ["+Inf"]
                for le in bounds:
                    self._rows.append((f"{family}_bucket", family, [*labels, ("le", le)]))
                self._rows.append((f"{family}_sum", family, labels))
                self._rows.append((f"{family}_count", family, labels))
            elif kind == "summary":
                for q in _get(point, "quantileValues") or []:
                    self._rows.append((family, family, [*labels, ("quantile", _bound(q.get("quantile", 0)))]))
                self._rows.append((f"{family}_sum", family, labels))
                self._rows.append((f"{family}_count", family, labels))
            else:
                self._rows.append((family, family, labels))

    def flush(self) -> None:
        """Hand the buffered series to the sink."""
        if not self._rows:
            return
        series = pl.DataFrame(
            {
                "seq": range(len(self._rows)),
                "metric": [r[0] for r in self._rows],
                "family": [r[1] for r in self._rows],
            },
            schema={"seq": pl.Int64, "metric": pl.String, "family": pl.String},
        )
        labels = pl.DataFrame(
            [(i, k, v) for i, r in enumerate(self._rows) for k, v in r[2]],
            schema={"seq": pl.Int64, "label": pl.String, "value": pl.String},
            orient="row",
        )
        self._rows = []
        self.sink.frames(series, labels)

    def close(self) -> None:
        """Flush, and say what each family is (its OTel description, unit and temporality)."""
        self.flush()
        for family, (type_, help_, unit, temporality) in self._meta.items():
            self.sink.metadata(family, type_, help_, unit, temporality=temporality)


def read_otlp_metrics(path: Path, sink: MetricsSink) -> int:
    """The series of one OTLP metrics file (JSON or protobuf) into ``sink``; returns the data points."""
    frames = MetricsFrames(sink)
    for doc in documents(path, "metrics"):
        frames.add(doc)
    frames.close()
    return frames.points
