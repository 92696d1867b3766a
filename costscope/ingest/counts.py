"""Counting a Prometheus-compatible backend's series inside it (``collect: counts`` or ``auto``).

``choose_mode`` says how a source is read and why; ``collect_counts`` writes the ``counted_*``
tables and a ``count_runs`` row (the queries it sent, the samples the backend touched, the
slowest); ``count_keep_sets`` asks the same backend, at the same evaluation time, for the keep sets
the analysis wants once usage is known.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import polars as pl

from costscope.config import SourceConfig
from costscope.errors import CostscopeError, SourceError
from costscope.ingest.metrics import MetricsWriter
from costscope.sources.http import HttpClient
from costscope.sources.prometheus_api import PrometheusApiSource
from costscope.sources.promql_counter import QueryStats, QueryTooLarge
from costscope.sources.promql_counts import BackendCounts
from costscope.store.snapshot import SnapshotWriter

__all__ = ["choose_mode", "collect_counts", "count_keep_sets", "counted_sources"]


class CountsWriter:
    """Writes one backend's counts into the snapshot (``sources.promql_counts.CountsSink``)."""

    def __init__(self, snapshot: SnapshotWriter, source: str, metrics: MetricsWriter) -> None:
        self.snapshot = snapshot
        self.source = source
        self.metrics = metrics

    def counted(self, table: str, frame: pl.DataFrame) -> None:
        """Rows of one ``counted_*`` table, with this source's name."""
        self.snapshot.append(table, frame.with_columns(source=pl.lit(self.source)))

    def metadata(
        self, family: str, type_: str | None, help_: str | None = None, unit: str | None = None
    ) -> None:
        """Type, help and unit of a family (metric_meta, with the counted series, at close)."""
        self.metrics.metadata(family, type_, help_, unit)


def estimate_series(client: HttpClient) -> int | None:
    """The server's active series from its TSDB status (Prometheus' head, VictoriaMetrics' total), or None."""
    doc = client.get_json("/api/v1/status/tsdb", accept=frozenset({400, 404, 422, 501}))
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        return None
    head = data.get("headStats")
    if isinstance(head, dict) and isinstance(head.get("numSeries"), int):
        return int(head["numSeries"])
    total = data.get("totalSeries")
    return int(total) if isinstance(total, int) else None


def choose_mode(source: SourceConfig, client: HttpClient, api: PrometheusApiSource) -> tuple[str, str]:
    """``series`` or ``counts`` for this source, and why (``auto`` says what it estimated)."""
    if source.collect != "auto":
        return source.collect, f"collect: {source.collect}"
    estimate = estimate_series(client)
    if estimate is None:  # no TSDB status (Mimir, Thanos): one count over every series
        counter = BackendCounts(api, top_n=0, max_queries=1).counter
        try:
            rows = counter.instant('count({__name__=~".+"})')
        except QueryTooLarge:
            return "counts", "auto: the server refused to count every series at once (over its query limits)"
        except CostscopeError as exc:
            return "series", f"auto: no estimate of the series ({str(exc)[:120]}); pulling them"
        estimate = int(rows[0][1]) if rows else 0
    if estimate >= source.collect_threshold:
        return (
            "counts",
            f"auto: about {estimate:,} series, at least the threshold of {source.collect_threshold:,}",
        )
    return "series", f"auto: about {estimate:,} series, under the threshold of {source.collect_threshold:,}"


def _run_row(
    source: SourceConfig, mode: str, reason: str, end: float | None, stats: QueryStats | None
) -> pl.DataFrame:
    slowest = [{"query": q, "seconds": round(s, 4)} for s, q in stats.slowest] if stats else []
    return pl.DataFrame(
        [{"source": source.name, "mode": mode, "reason": reason, "evaluated_at": end,
          "lookback_s": source.lookback_s, "top_n": source.exact_top if mode == "counts" else None,
          "queries": stats.queries if stats else 0, "samples": stats.samples if stats else None,
          "seconds": stats.seconds if stats else None, "slowest": json.dumps(slowest)}],
        schema={"source": pl.String, "mode": pl.String, "reason": pl.String, "evaluated_at": pl.Float64,
                "lookback_s": pl.Float64, "top_n": pl.Int32, "queries": pl.Int64, "samples": pl.Int64,
                "seconds": pl.Float64, "slowest": pl.String},
    )  # fmt: skip


def record_mode(snapshot: SnapshotWriter, source: SourceConfig, mode: str, reason: str) -> None:
    """The row saying a source was read in ``series`` mode, and why."""
    snapshot.append("count_runs", _run_row(source, mode, reason, None, None))


def collect_counts(
    snapshot: SnapshotWriter,
    metrics: MetricsWriter,
    api: PrometheusApiSource,
    reason: str,
    group_labels: Sequence[str],
    errors: list[CostscopeError],
) -> pl.DataFrame:
    """Count ``api``'s server into the snapshot; returns its scrape stats. Failures go to ``errors``."""
    source = api.client.source
    counts = BackendCounts(
        api,
        top_n=source.exact_top,
        max_queries=source.max_queries,
        group_labels=group_labels,
        use_index=source.cardinality_api,
    )
    try:
        return counts.collect(CountsWriter(snapshot, source.name, metrics))
    finally:
        errors.extend(counts.errors)
        said = f"{reason}; {counts.index_note}" if counts.index_note else reason
        snapshot.append("count_runs", _run_row(source, "counts", said, counts.end, counts.counter.stats))


def counted_sources(snapshot: SnapshotWriter) -> dict[str, float]:
    """The sources of this snapshot counted inside their backend, with the time they were counted at."""
    rows = snapshot.conn.execute(
        "SELECT source, evaluated_at FROM count_runs WHERE snapshot_id = ? AND mode = 'counts'", [snapshot.id]
    ).fetchall()
    return {str(name): float(at) for name, at in rows}


def count_keep_sets(
    snapshot: SnapshotWriter, sources: Sequence[SourceConfig], wanted: pl.DataFrame
) -> list[CostscopeError]:
    """Ask each counted backend, at the time it was counted, for the series its ``wanted`` keep
    sets (source, metric, dropped) leave; the rows go to ``counted_keep_sets``."""
    from costscope.ingest.reading import api_client

    counted = counted_sources(snapshot)
    errors: list[CostscopeError] = []
    for source in sources:
        rows = wanted.filter(pl.col("source") == source.name)
        if source.name not in counted or rows.is_empty():
            continue
        sets = [(str(m), tuple(d)) for m, d in rows.select("metric", "dropped").iter_rows()]
        try:
            with api_client(source, None) as client:
                errors += _keep_sets(snapshot, source, client, counted[source.name], sets)
        except CostscopeError as exc:
            errors.append(exc)
    return errors


def _keep_sets(
    snapshot: SnapshotWriter,
    source: SourceConfig,
    client: HttpClient,
    evaluated_at: float,
    wanted: Sequence[tuple[str, tuple[str, ...]]],
) -> list[CostscopeError]:
    api = PrometheusApiSource(client, source.kind)
    counts = BackendCounts(api, top_n=0, max_queries=source.max_queries, end=evaluated_at)
    families = snapshot.conn.execute(
        "SELECT family, list(metric ORDER BY metric) FROM counted_series WHERE snapshot_id = ? AND source = ?"
        " GROUP BY family",
        [snapshot.id, source.name],
    ).fetchall()
    counts.families = {str(f): tuple(str(n) for n in names) for f, names in families}
    try:
        counts.keep_sets(CountsWriter(snapshot, source.name, MetricsWriter(snapshot, source.name)), wanted)
    except SourceError as exc:
        counts.errors.append(exc)
    stats = counts.counter.stats
    snapshot.conn.execute(
        "UPDATE count_runs SET queries = queries + ?, seconds = coalesce(seconds, 0) + ?"
        " WHERE snapshot_id = ? AND source = ? AND mode = 'counts'",
        [stats.queries, stats.seconds, snapshot.id, source.name],
    )
    return counts.errors
