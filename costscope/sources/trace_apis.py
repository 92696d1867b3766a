"""Trace backends' HTTP APIs: Jaeger's query service and Grafana Tempo.

Both give a *sample* of traces (a search returns at most ``limit`` of them), read over the
source's ``lookback`` window:

- Jaeger: ``/api/services``, ``/api/services/<service>/operations``, then ``/api/traces`` per
  service (``start``/``end`` in microseconds, ``limit`` = ``sample_lines``). Jaeger has no count
  endpoint: its spans are stored with weight 1 and the rates are the sample's (the source says so).
- Tempo: ``/api/search/tags`` and ``/api/search/tag/<tag>/values`` for the services,
  ``/api/search`` (``start``/``end`` in seconds) per service, ``/api/traces/<id>`` for each trace
  (``batches`` in Tempo's v1 answer, ``trace.resourceSpans`` in v2). Where TraceQL metrics answer
  (``/api/metrics/query_range`` with ``{} | count_over_time() by (resource.service.name, name)``,
  Tempo 2.4+), each service × operation's spans are re-weighted to the true count over the window.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import polars as pl

from costscope.sources.http import HttpClient
from costscope.sources.sinks import TracesSink
from costscope.sources.traces import frame, jaeger_spans, otlp_spans

_MISSING = frozenset({404})


def _list(answer: Any, key: str, client: HttpClient, path: str) -> list[Any]:
    value = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(value, list):
        raise client.error(f"unexpected answer (no {key} list)", path)
    return value


def collect_jaeger(client: HttpClient, writer: TracesSink) -> int:
    """Sampled traces of every service of a Jaeger query service → traces read."""
    end_us = int(time.time() * 1e6)
    start_us = end_us - int(client.source.lookback_s * 1e6)
    services = _list(client.get_json("/api/services"), "data", client, "/api/services")
    seen: set[str] = set()
    for service in sorted(str(s) for s in services):
        path = "/api/traces"
        params = {"service": service, "start": start_us, "end": end_us, "limit": client.source.sample_lines}
        traces = _list(client.get_json(path, params), "data", client, path)
        fresh = [t for t in traces if isinstance(t, dict) and t.get("traceID") not in seen]
        seen.update(str(t.get("traceID")) for t in fresh)
        writer.add(frame(jaeger_spans({"data": fresh})))
    return len(seen)


def _tempo_services(client: HttpClient) -> list[str]:
    response = client.get("/api/search/tag/service.name/values", accept=_MISSING)
    if response.status_code == 404:  # Tempo before 2.0 names the tag without its scope
        response = client.get("/api/search/tag/service/values")
    values = _list(response.json(), "tagValues", client, "/api/search/tag/service.name/values")
    # v1 answers strings; v2 answers {"type": "string", "value": "…"}
    return sorted(str(v.get("value") if isinstance(v, dict) else v) for v in values)


def _tempo_counts(client: HttpClient, start_s: int, end_s: int) -> pl.DataFrame | None:
    """Spans per (service, operation) over the window from TraceQL metrics; None where unavailable."""
    step = max(60, end_s - start_s)
    query = "{} | count_over_time() by (resource.service.name, name)"
    response = client.get(
        "/api/metrics/query_range",
        {"q": query, "start": start_s, "end": end_s, "step": f"{step}s"},
        accept=_MISSING | {400},
    )
    if response.status_code != 200:
        return None
    rows = []
    for series in response.json().get("series") or []:
        labels = {
            lb.get("key"): (lb.get("value") or {}).get("stringValue") for lb in series.get("labels") or []
        }
        total = sum(float(s.get("value") or 0) for s in series.get("samples") or [])
        rows.append(
            {"service": labels.get("resource.service.name"), "operation": labels.get("name"), "count": total}
        )
    return pl.DataFrame(rows, schema={"service": pl.String, "operation": pl.String, "count": pl.Float64})


def collect_tempo(client: HttpClient, writer: TracesSink) -> int:
    """Sampled traces of every service of a Tempo, re-weighted by TraceQL metrics → traces read."""
    end_s = int(time.time())
    start_s = end_s - int(client.source.lookback_s)
    client.get("/api/search/tags", accept=_MISSING)  # fails fast on a URL that is not a Tempo
    seen: set[str] = set()
    parts = []
    for service in _tempo_services(client):
        query = f'{{resource.service.name="{service}"}}'
        answer = client.get_json(
            "/api/search", {"q": query, "start": start_s, "end": end_s, "limit": client.source.sample_lines}
        )
        for hit in _list(answer, "traces", client, "/api/search"):
            trace_id = str(hit.get("traceID", "")) if isinstance(hit, dict) else ""
            if not trace_id or trace_id in seen:
                continue
            seen.add(trace_id)
            doc = client.get_json(f"/api/traces/{quote(trace_id)}")
            batches = doc.get("batches") if isinstance(doc, dict) else None
            if batches is None and isinstance(doc, dict):
                batches = (doc.get("trace") or {}).get("resourceSpans")
            parts.append(frame(otlp_spans({"resourceSpans": batches or []})))
    if not parts:
        return 0
    spans = pl.concat(parts)
    counts = _tempo_counts(client, start_s, end_s)
    if counts is not None and counts.height:
        sampled = spans.group_by("service", "operation").agg(pl.len().alias("n"))
        factors = counts.join(sampled, on=["service", "operation"]).select(
            "service", "operation", (pl.col("count") / pl.col("n")).clip(lower_bound=1.0).alias("factor")
        )
        spans = (
            spans.join(factors, on=["service", "operation"], how="left")
            .with_columns(sample_weight=pl.col("sample_weight") * pl.col("factor").fill_null(1.0))
            .drop("factor")
        )
    writer.add(spans)
    return len(seen)
