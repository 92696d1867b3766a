"""Reading one source into a snapshot: a collector per kind, every file tried, every failure kept.

``COLLECTORS`` maps each source kind to the function that reads it; adding a kind is one entry here
(and, for files, one ``FileKind`` in ``sources.kinds``) plus the module that reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from costscope.config import SourceConfig
from costscope.credentials import redact_url
from costscope.errors import CostscopeError, InputError, InputWarning, SourceError
from costscope.ingest.logs import LogsWriter
from costscope.ingest.metrics import MetricsWriter
from costscope.ingest.traces import CappedTracesWriter, TracesWriter
from costscope.sources.dashboards import dashboard_queries, grafana_queries, read_dashboard_file
from costscope.sources.http import HttpClient
from costscope.sources.kinds import describe
from costscope.sources.log_files import read_log_file
from costscope.sources.loki import LokiSource
from costscope.sources.metrics_file import collect_file, collect_url
from costscope.sources.otlp import file_signal, read_otlp_logs, read_otlp_metrics, read_proto_traces
from costscope.sources.otlp_receiver import OtlpReceiver
from costscope.sources.prometheus_api import PrometheusApiSource, detect
from costscope.sources.query_logs import QueryLog, fetch_queries, read_query_log, windows_frame
from costscope.sources.replay import MANIFEST, ReplayTransport, is_recording, load_manifest
from costscope.sources.resolve import files_for, infer_kind
from costscope.sources.rules import api_rule_queries, yaml_usage
from costscope.sources.trace_apis import collect_jaeger, collect_tempo
from costscope.sources.traces import read_trace_file
from costscope.sources.usage import MALFORMED, Problem, Query, refs_frame
from costscope.store.export import import_export
from costscope.store.snapshot import SnapshotWriter, SourceResult

Progress = Callable[[str, int, int], None]

__all__ = ["COLLECTORS", "Progress", "collect"]

_USAGE_KIND = {"grafana": "dashboard", "rules": "rule_file"}  # what a usage file with no readers is


@dataclass
class Reading:
    """One source being read: what it is, where its rows go, and what it has yielded so far."""

    source: SourceConfig
    kind: str
    snapshot: SnapshotWriter
    writer: MetricsWriter
    record: Path | None
    progress: Progress | None
    errors: list[CostscopeError] = field(default_factory=list)
    read: int = 0  # queries, log lines or spans read (series are counted by the writer)
    imported: int = 0  # series taken whole from an export
    skipped: int = 0  # exposition lines skipped (lenient)
    flavour: str | None = None
    version: str | None = None


def _usage_queries(r: Reading) -> tuple[list[Query], list[Problem]]:
    """The queries of a usage source; a bad file is an error and the other files go on."""
    source, kind = r.source, r.kind
    if source.url is not None or (source.path is not None and is_recording(source.path)):
        with _api_client(source, r.record) as client:
            if kind == "grafana":
                return grafana_queries(client)
            return api_rule_queries(client), []
    queries: list[Query] = []
    problems: list[Problem] = []
    for f in _files(r):
        try:
            if kind == "grafana":
                found, trouble = dashboard_queries(read_dashboard_file(f), str(f))
            else:
                found, trouble = yaml_usage(f)
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        if not found and not trouble:
            what = "panel queries" if kind == "grafana" else "rules, alerts or SLOs"
            r.errors.append(InputWarning(f"no readers: the file holds no {what}", file=str(f)))
            trouble = [Problem(_USAGE_KIND[kind], f.name, None, str(f), None, "no_readers", f"no {what}")]
        queries += found
        problems += trouble
    return queries, problems


def _files(r: Reading) -> tuple[Path, ...]:
    files = files_for(r.source, r.kind)
    if not files:
        raise InputError(f"no {describe(r.kind)} files", file=str(r.source.path))
    return files


def _usage(r: Reading) -> None:
    """Dashboards, rules and SLOs into usage_refs / usage_problems."""
    queries, problems = _usage_queries(r)
    refs, problem_rows = refs_frame(r.source.name, queries, problems)
    r.snapshot.append("usage_refs", refs)
    r.snapshot.append("usage_problems", problem_rows)
    r.read = len(queries)


def _query_rows(log: QueryLog) -> tuple[list[Query], list[Problem]]:
    """A query log's distinct queries as readers of kind ``query``; LogQL goes to the log analysis."""
    queries, problems = [], []
    for row in log.queries.iter_rows(named=True):
        if log.language == "logql":
            problems.append(
                Problem("query", row["query"], None, log.origin, row["query"], "not_promql", "LogQL")
            )
            continue
        queries.append(
            Query(
                "query",
                row["query"],
                None,
                log.origin,
                row["query"],
                uses=row["uses"],
                clients=tuple(row["clients"] or ()),
                first_at=row["first_at"],
                last_at=row["last_at"],
            )
        )
    return queries, problems


def _queries(r: Reading) -> None:
    """Query logs (every file tried), a VictoriaMetrics' top queries or Grafana's query history, into
    usage_refs and query_windows."""
    logs: list[QueryLog] = []
    if r.source.url is not None or (r.source.path is not None and is_recording(r.source.path)):
        with _api_client(r.source, r.record) as client:
            logs.append(fetch_queries(client))
    else:
        for f in _files(r):
            try:
                log = read_query_log(f)
            except CostscopeError as exc:
                r.errors.append(exc)
                continue
            if not log.entries:
                r.errors.append(InputWarning("no queries (a query log with no query entries)", file=str(f)))
            elif log.skipped:
                r.errors.append(
                    InputWarning(
                        f"{log.skipped} line(s) were no {log.format} query entries; skipped", file=str(f)
                    )
                )
            logs.append(log)
    queries: list[Query] = []
    problems: list[Problem] = []
    for log in logs:
        found, trouble = _query_rows(log)
        queries += found
        problems += trouble
    refs, problem_rows = refs_frame(r.source.name, queries, problems)
    r.snapshot.append("usage_refs", refs)
    r.snapshot.append("usage_problems", problem_rows)
    r.snapshot.append("query_windows", windows_frame(r.source.name, logs))
    r.read = sum(log.entries for log in logs)


def _otlp_metrics(r: Reading) -> None:
    """OTLP metrics files (JSON or protobuf; every one tried) into the metric tables."""
    for f in _files(r):
        try:
            points = read_otlp_metrics(f, r.writer)
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        r.read += points
        if not points:
            r.errors.append(InputWarning("no data points (OTLP metrics with no points in them)", file=str(f)))


def _otlp_logs(r: Reading) -> None:
    """OTLP logs files (JSON or protobuf; every one tried) into the log tables."""
    writer = LogsWriter(r.snapshot, r.source.name)
    try:
        for f in _files(r):
            try:
                records = read_otlp_logs(f, writer)
            except CostscopeError as exc:
                r.errors.append(exc)
                continue
            if not records:
                r.errors.append(
                    InputWarning("no log records (OTLP logs with no records in them)", file=str(f))
                )
    finally:
        writer.close()
        r.read = writer.lines


MAX_TAP_SPANS = 1_000_000  # spans a tap keeps (whole traces, re-weighted) however much it receives


def _tap(r: Reading) -> None:
    """Listen for OTLP/HTTP for the source's duration (or until interrupted), feeding every table."""
    from urllib.parse import urlsplit

    parts = urlsplit(r.source.url or "http://127.0.0.1:4318")
    host, port = parts.hostname or "127.0.0.1", parts.port if parts.port is not None else 4318
    logs = LogsWriter(r.snapshot, r.source.name)
    traces = CappedTracesWriter(r.snapshot, r.source.name, MAX_TAP_SPANS)
    try:
        receiver = OtlpReceiver(host, port, r.writer, logs, traces)
    except OSError as exc:
        raise SourceError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", source=r.source.name
        ) from None
    receiver.start()
    started = time.monotonic()
    duration = r.source.duration_s
    try:
        while duration is None or time.monotonic() - started < duration:
            time.sleep(
                0.5 if duration is None else min(0.5, max(0.0, duration - (time.monotonic() - started)))
            )
            st = receiver.stats
            elapsed = time.monotonic() - started
            if r.progress:
                rate = st.spans / elapsed if elapsed else 0.0
                r.progress(
                    f"tap {receiver.address}: {rate:,.0f} spans/s, {st.points:,} points, {st.records:,} log records,"
                    f" {st.bytes / 1e6:,.1f} MB",
                    int(elapsed),
                    int(duration) if duration else 0,
                )
    except KeyboardInterrupt:
        pass  # an interrupted tap keeps what it received
    finally:
        receiver.stop()
        logs.close()
        traces.close()
    st = receiver.stats
    r.read = st.spans + st.points + st.records
    for reason, n in st.reasons.items():
        r.errors.append(InputWarning(f"{n} request(s) refused: {reason}", file=r.source.location))
    if traces.p < 1.0:
        r.errors.append(
            InputWarning(
                f"{traces.received:,} spans received, {traces.spans:,} kept (whole traces, 1 in {1 / traces.p:,.0f},"
                " re-weighted)",
                file=r.source.location,
            )
        )
    if not r.read:
        r.errors.append(InputWarning("the tap received nothing", file=r.source.location))


def _logs(r: Reading) -> None:
    """Log files (every one tried) into the log tables."""
    writer = LogsWriter(r.snapshot, r.source.name)
    for f in _files(r):
        before = writer.lines
        try:
            for chunk in read_log_file(f, r.source.header):
                writer.add(chunk, f'{{filename="{f.name}"}}')
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        if writer.lines == before:
            r.errors.append(InputWarning("no log lines (an empty file)", file=str(f)))
    writer.close()
    r.read = writer.lines


def _loki(r: Reading) -> None:
    """A Loki (or its recording) into the log tables; what was read before a failure is kept."""
    writer = LogsWriter(r.snapshot, r.source.name)
    try:
        with _api_client(r.source, r.record) as client:
            r.version, _ = LokiSource(client, writer).collect()
    finally:
        writer.close(period_s=r.source.lookback_s)
        r.read = writer.lines


def _traces(r: Reading) -> None:
    """Trace files (every one tried), or a Jaeger or Tempo, into spans and trace_operations."""
    writer = TracesWriter(r.snapshot, r.source.name)
    try:
        if r.kind in ("jaeger", "tempo"):
            with _api_client(r.source, r.record) as client:
                (collect_jaeger if r.kind == "jaeger" else collect_tempo)(client, writer)
            return
        for f in _files(r):
            before = writer.spans
            try:
                for batch in read_proto_traces(f) if file_signal(f) == "traces" else read_trace_file(f):
                    writer.add(batch)
            except CostscopeError as exc:
                r.errors.append(exc)
                continue
            if writer.spans == before:
                r.errors.append(InputWarning("no spans (a trace document with no spans in it)", file=str(f)))
    finally:  # what was read before a failure is kept
        writer.close()
        r.read = writer.spans


def _exposition(r: Reading) -> None:
    """A /metrics URL, or exposition files (every one tried, each failure kept as an error)."""
    source = r.source
    if source.url is not None:
        with HttpClient(source) as client:
            r.skipped = collect_url(source, r.writer, client).skipped_lines
        return
    files = _files(r)
    assert source.path is not None
    root = source.path if source.path.is_dir() else None
    for i, f in enumerate(files):
        if r.progress:
            r.progress(f.name, i, len(files))
        try:
            stats = collect_file(f, r.writer, lenient=source.lenient, root=root)
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        r.skipped += stats.skipped_lines
        if not stats.samples:
            r.errors.append(InputWarning("no samples (an exposition with no sample lines)", file=str(f)))


def _prometheus_api(r: Reading) -> None:
    """A Prometheus-compatible API (or its recording): every series of every metric."""
    with _api_client(r.source, r.record) as client:
        info = detect(client, r.kind)
        r.flavour, r.version = info.flavour, info.version
        api = PrometheusApiSource(client, info.flavour, r.progress)
        try:
            r.snapshot.append("scrape_stats", api.collect(r.writer))
        finally:
            r.errors.extend(api.errors)


def _parquet(r: Reading) -> None:
    """A folder written by ``costscope export``: its snapshots' rows taken whole."""
    assert r.source.path is not None
    r.imported = r.read = import_export(r.source.path, r.source.name, r.snapshot)


# source kind → the collector that reads it (a kind not listed is a Prometheus-compatible API flavour)
COLLECTORS: dict[str, Callable[[Reading], None]] = {
    "parquet": _parquet,
    "queries": _queries,
    "grafana": _usage,
    "rules": _usage,
    "logs": _logs,
    "otlp_metrics": _otlp_metrics,
    "otlp_logs": _otlp_logs,
    "tap": _tap,
    "loki": _loki,
    "traces": _traces,
    "jaeger": _traces,
    "tempo": _traces,
    "exposition": _exposition,
}


def _api_client(source: SourceConfig, record: Path | None) -> HttpClient:
    if source.path is not None:
        if not is_recording(source.path):
            raise InputError(f"not a recording (no {MANIFEST})", file=str(source.path))
        base = load_manifest(source.path)["base_url"]
        return HttpClient(replace(source, url=base), transport=ReplayTransport(source.path))
    if record is not None:
        return HttpClient(source, record_to=record / source.name)
    return HttpClient(source)


def collect(
    source: SourceConfig,
    snapshot: SnapshotWriter,
    progress: Progress | None = None,
    record: Path | None = None,
) -> tuple[SourceResult, list[CostscopeError]]:
    """Read one source into the snapshot; on failure keep what was read and return the errors.

    With ``record``, an API source's answers are also written to ``record/<source name>/``, a
    recording that can be analyzed again offline (credentials are never part of it).
    """
    started = time.monotonic()
    location = redact_url(source.location) if source.url else source.location
    r = Reading(source, source.kind, snapshot, MetricsWriter(snapshot, source.name), record, progress)
    r.flavour = source.kind
    try:
        r.kind = r.flavour = infer_kind(source)
        COLLECTORS.get(r.kind, _prometheus_api)(r)
    except CostscopeError as exc:
        r.errors.append(exc)
    except MALFORMED as exc:
        # a server's answer in a shape no version of it sends: say so for this source, keep the others
        r.errors.append(
            SourceError(
                f"unexpected answer ({type(exc).__name__}: {str(exc)[:160]})",
                source=source.name,
                url=location if source.url else None,
            )
        )
    series = r.writer.close() + r.imported
    failures = [e for e in r.errors if not isinstance(e, InputWarning)]
    status = "complete" if not failures else "partial" if series or r.read else "failed"
    result = SourceResult(
        name=source.name,
        kind=r.kind,
        location=location,
        status=status,
        flavour=r.flavour,
        version=r.version,
        series=series,
        skipped_lines=r.skipped,
        seconds=time.monotonic() - started,
    )
    return result, r.errors
