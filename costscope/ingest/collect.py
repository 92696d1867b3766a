"""Reading one source into a snapshot: a collector per kind, every file tried, every failure kept.

``COLLECTORS`` maps each source kind to the function that reads it; adding a kind is one entry here
(and, for files, one ``FileKind`` in ``sources.kinds``) plus the module that reads it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from costscope.config import SourceConfig
from costscope.credentials import redact_url
from costscope.errors import CostscopeError, InputWarning, SourceError
from costscope.ingest.counts import choose_mode, collect_counts, record_mode
from costscope.ingest.logs import LogsWriter
from costscope.ingest.metrics import MetricsWriter
from costscope.ingest.reading import Progress, Reading, api_client, files_of
from costscope.ingest.tap import collect_tap
from costscope.ingest.traces import TracesWriter
from costscope.ingest.usage import collect_queries, collect_usage
from costscope.sources.http import HttpClient
from costscope.sources.log_files import read_log_file
from costscope.sources.loki import LokiSource
from costscope.sources.metrics_file import collect_file, collect_url
from costscope.sources.otlp import file_signal
from costscope.sources.otlp_logs import read_otlp_logs
from costscope.sources.otlp_metrics import read_otlp_metrics
from costscope.sources.otlp_traces import read_proto_traces
from costscope.sources.prometheus_api import PrometheusApiSource, detect
from costscope.sources.resolve import infer_kind
from costscope.sources.series_answer import read_series_answer
from costscope.sources.sniff import Sniff
from costscope.sources.trace_apis import collect_jaeger, collect_tempo
from costscope.sources.traces import read_trace_file
from costscope.sources.usage import MALFORMED
from costscope.sources.vm_export import is_vm_export, read_vm_export
from costscope.store.export import import_export
from costscope.store.snapshot import SnapshotWriter, SourceResult

__all__ = ["COLLECTORS", "Progress", "collect"]


def _series_answers(r: Reading) -> None:
    """Saved ``/api/v1/series`` answers and VictoriaMetrics exports (every one tried) into the metric tables."""
    for f in files_of(r):
        warnings: list[InputWarning] = []  # an export says nothing of its own
        try:
            if is_vm_export(Sniff(f)):
                series = read_vm_export(f, r.writer)
            else:
                series, warnings = read_series_answer(f, r.writer)
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        r.errors.extend(warnings)
        if not series:
            r.errors.append(
                InputWarning("no series (a series answer or export with no label sets)", file=str(f))
            )


def _otlp_metrics(r: Reading) -> None:
    """OTLP metrics files (JSON or protobuf; every one tried) into the metric tables."""
    for f in files_of(r):
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
        for f in files_of(r):
            try:
                records = read_otlp_logs(f, writer)
            except CostscopeError as exc:
                r.errors.append(exc)
                continue
            finally:
                writer.captures.end()  # a file is one capture
            if not records:
                r.errors.append(
                    InputWarning("no log records (OTLP logs with no records in them)", file=str(f))
                )
    finally:
        writer.close()
        r.read = writer.lines


def _logs(r: Reading) -> None:
    """Log files (every one tried) into the log tables."""
    writer = LogsWriter(r.snapshot, r.source.name)
    for f in files_of(r):
        before = writer.lines
        try:
            for chunk in read_log_file(f, r.source.header):
                writer.add(chunk, f'{{filename="{f.name}"}}')
        except CostscopeError as exc:
            r.errors.append(exc)
            continue
        finally:
            writer.captures.end()  # a file is one capture, whenever it was taken
        if writer.lines == before:
            r.errors.append(InputWarning("no log lines (an empty file)", file=str(f)))
    writer.close()
    r.read = writer.lines


def _loki(r: Reading) -> None:
    """A Loki (or its recording) into the log tables; what was read before a failure is kept."""
    writer = LogsWriter(r.snapshot, r.source.name)
    try:
        with api_client(r.source, r.record) as client:
            r.version, _ = LokiSource(client, writer).collect()
    finally:
        writer.close(period_s=r.source.lookback_s)
        r.read = writer.lines


def _traces(r: Reading) -> None:
    """Trace files (every one tried), or a Jaeger or Tempo, into spans and trace_operations."""
    writer = TracesWriter(r.snapshot, r.source.name)
    try:
        if r.kind in ("jaeger", "tempo"):
            with api_client(r.source, r.record) as client:
                (collect_jaeger if r.kind == "jaeger" else collect_tempo)(client, writer)
            return
        for f in files_of(r):
            before = writer.spans
            try:
                for batch in read_proto_traces(f) if file_signal(f) == "traces" else read_trace_file(f):
                    writer.add(batch)
            except CostscopeError as exc:
                r.errors.append(exc)
                continue
            finally:
                writer.captures.end()  # a file is one capture, whenever it was taken
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
            stats = collect_url(source, r.writer, client)
        r.skipped = stats.skipped_lines
        r.errors.extend(stats.warnings())
        return
    files = files_of(r)
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
        r.errors.extend(stats.warnings())
        if not stats.samples:
            r.errors.append(InputWarning("no samples (an exposition with no sample lines)", file=str(f)))


def _prometheus_api(r: Reading) -> None:
    """A Prometheus-compatible API (or its recording): every series of every metric."""
    with api_client(r.source, r.record) as client:
        info = detect(client, r.kind)
        r.flavour, r.version = info.flavour, info.version
        api = PrometheusApiSource(client, info.flavour, r.progress)
        mode, reason = choose_mode(r.source, client, api)
        if mode == "counts":
            r.snapshot.append(
                "scrape_stats", collect_counts(r.snapshot, r.writer, api, reason, r.group_labels, r.errors)
            )
            return
        record_mode(r.snapshot, r.source, mode, reason)
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
    "queries": collect_queries,
    "grafana": collect_usage,
    "rules": collect_usage,
    "logs": _logs,
    "otlp_metrics": _otlp_metrics,
    "otlp_logs": _otlp_logs,
    "tap": collect_tap,
    "loki": _loki,
    "traces": _traces,
    "jaeger": _traces,
    "tempo": _traces,
    "exposition": _exposition,
    "series": _series_answers,
}


def collect(
    source: SourceConfig,
    snapshot: SnapshotWriter,
    progress: Progress | None = None,
    record: Path | None = None,
    group_labels: tuple[str, ...] = ("job",),
) -> tuple[SourceResult, list[CostscopeError]]:
    """Read one source into the snapshot; on failure keep what was read and return the errors.

    With ``record``, an API source's answers are also written to ``record/<source name>/``, a
    recording that can be analyzed again offline (credentials are never part of it).
    ``group_labels``: the labels a backend counted inside itself groups series by (job and the
    ownership rules' labels).
    """
    started = time.monotonic()
    location = redact_url(source.location) if source.url else source.location
    r = Reading(source, source.kind, snapshot, MetricsWriter(snapshot, source.name), record, progress)
    r.group_labels = group_labels
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
