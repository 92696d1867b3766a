"""Sources: where telemetry comes from, and turning a SOURCE argument into a SourceConfig.

A SOURCE on the command line is a URL or a path; its kind is inferred (``--kind`` forces it):
a URL whose path ends in ``/metrics`` is scraped as an exposition, any other URL is a
Prometheus-compatible API (the flavour is detected); a folder with ``recording.json`` is a
recorded API and one with ``snapshots.parquet`` an export; any other file is told by its content
(``sources.kinds``: exposition, Grafana dashboard, rule/SLO YAML, logs, traces), its name only a
hint. A folder becomes one source per recording and export, plus one per kind of the files in it
(``NAME``, ``NAME/dashboards``, ``NAME/rules``, ``NAME/logs``, ``NAME/traces``); a file no kind
recognises is a warning saying what it looked like.

Every file of a source is tried: a bad one is an error naming it (the others are still read), and
one that yields nothing is a warning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from costscope.config import LOG_KINDS, SOURCE_KINDS, TRACE_KINDS, USAGE_KINDS, Config, SourceConfig
from costscope.credentials import redact_url
from costscope.errors import ConfigError, CostscopeError, InputError, InputWarning, SourceError
from costscope.ingest.logs import LogsWriter
from costscope.ingest.metrics import MetricsWriter
from costscope.ingest.traces import TracesWriter
from costscope.sources.dashboards import dashboard_queries, grafana_queries, read_dashboard_file
from costscope.sources.http import HttpClient
from costscope.sources.kinds import classify, describe, files_of_kind
from costscope.sources.kinds import detect as detect_kind
from costscope.sources.log_files import read_log_file
from costscope.sources.loki import LokiSource
from costscope.sources.metrics_file import collect_file, collect_url
from costscope.sources.parquet_export import MARKER as EXPORT_MARKER
from costscope.sources.parquet_export import collect_export, is_export
from costscope.sources.prometheus_api import PrometheusApiSource, detect
from costscope.sources.replay import MANIFEST, ReplayTransport, is_recording, load_manifest, recorded_kind
from costscope.sources.rules import api_rule_queries, yaml_usage
from costscope.sources.trace_apis import collect_jaeger, collect_tempo
from costscope.sources.traces import read_trace_file
from costscope.sources.usage import MALFORMED, Problem, Query, refs_frame
from costscope.store.database import SnapshotWriter, SourceResult

Progress = Callable[[str, int, int], None]

__all__ = ["Resolution", "collect", "resolve", "resolve_sources"]

_USAGE_KIND = {"grafana": "dashboard", "rules": "rule_file"}  # what a usage file with no readers is


def _name_for(arg: str, taken: set[str]) -> str:
    parts = urlsplit(arg)
    base = parts.netloc.rsplit("@", 1)[-1] if parts.scheme in ("http", "https") else Path(arg).name
    base = base or "source"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    taken.add(name)
    return name


@dataclass(frozen=True)
class Resolution:
    """The sources to read, and a warning for each file of a folder that no kind recognised."""

    sources: list[SourceConfig]
    warnings: list[tuple[str, InputWarning]]  # (the SOURCE argument's name, the warning)


# the name a folder's files of each kind are read under, beside the folder's own name
_FOLDER_PARTS = {
    "exposition": "",
    "grafana": "/dashboards",
    "rules": "/rules",
    "logs": "/logs",
    "traces": "/traces",
}


def resolve(args: Sequence[str], config: Config, kind: str = "auto") -> Resolution:
    """The sources to read: the config's, then those of each SOURCE argument (kinds by content)."""
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"unknown source kind {kind!r} (allowed: {', '.join(SOURCE_KINDS)})", field="--kind"
        )
    sources = list(config.sources)
    warnings: list[tuple[str, InputWarning]] = []
    taken = {s.name for s in sources}
    for arg in args:
        parts = urlsplit(arg)
        if parts.scheme in ("http", "https"):
            if "@" in parts.netloc:
                raise ConfigError(
                    "credentials in a SOURCE URL; put them in costscope.yaml under auth",
                    field=redact_url(arg),
                )
            sources.append(SourceConfig(name=_name_for(arg, taken), kind=kind, url=arg))
            continue
        path = Path(arg)
        if not path.exists():
            raise InputError("no such file or directory", file=arg)
        if not path.is_dir() or kind != "auto" or is_recording(path) or is_export(path):
            sources.append(SourceConfig(name=_name_for(arg, taken), kind=kind, path=path))
            continue
        # a folder: recordings and exports are sources of their own, every other file by its content
        for marker in sorted(path.rglob(EXPORT_MARKER)):
            sources.append(
                SourceConfig(name=_name_for(str(marker.parent), taken), kind="parquet", path=marker.parent)
            )
        for manifest in sorted(path.rglob(MANIFEST)):
            sources.append(SourceConfig(name=_name_for(str(manifest.parent), taken), path=manifest.parent))
        contents = classify(path)
        for file_kind, suffix in _FOLDER_PARTS.items():
            if files := contents.files.get(file_kind):
                name = _name_for(f"{arg}{suffix}" if suffix else arg, taken)
                sources.append(SourceConfig(name=name, kind=file_kind, path=path, files=files))
        label = Path(arg).name or arg
        warnings.extend((label, w) for w in contents.warnings)
    return Resolution(sources, warnings)


def resolve_sources(args: Sequence[str], config: Config, kind: str = "auto") -> list[SourceConfig]:
    """The sources to read: the config's, then one per SOURCE argument (see ``resolve``)."""
    return resolve(args, config, kind).sources


def _files(source: SourceConfig, kind: str) -> tuple[Path, ...]:
    """The files a path source reads: those found for it, else the folder's of its kind."""
    assert source.path is not None
    return source.files or files_of_kind(source.path, kind)


def infer_kind(source: SourceConfig) -> str:
    """The kind of ``source`` when it says ``auto``: a URL by its path, a file by its content."""
    if source.kind != "auto":
        return source.kind
    if source.url is not None:
        return "exposition" if urlsplit(source.url).path.rstrip("/").endswith("/metrics") else "prometheus"
    assert source.path is not None
    if is_export(source.path):
        return "parquet"
    if is_recording(source.path):
        return recorded_kind(source.path)
    if source.path.is_dir():
        return "exposition"  # a folder given in a config without a kind: its exposition files
    found = detect_kind(source.path)
    if isinstance(found, InputWarning):
        raise InputError(found.message, file=str(source.path))
    return found


def _usage_queries(
    source: SourceConfig, kind: str, record: Path | None, errors: list[CostscopeError]
) -> tuple[list[Query], list[Problem]]:
    """The queries of a usage source; a bad file is an error and the other files go on."""
    if source.url is not None or (source.path is not None and is_recording(source.path)):
        with _api_client(source, record) as client:
            if kind == "grafana":
                return grafana_queries(client)
            return api_rule_queries(client), []
    files = _files(source, kind)
    if not files:
        raise InputError(f"no {describe(kind)} files", file=str(source.path))
    queries: list[Query] = []
    problems: list[Problem] = []
    for f in files:
        try:
            if kind == "grafana":
                doc = read_dashboard_file(f)
                found, trouble = dashboard_queries(doc, str(f))
            else:
                found, trouble = yaml_usage(f)
        except CostscopeError as exc:
            errors.append(exc)
            continue
        if not found and not trouble:
            what = "panel queries" if kind == "grafana" else "rules, alerts or SLOs"
            errors.append(InputWarning(f"no readers: the file holds no {what}", file=str(f)))
            trouble = [Problem(_USAGE_KIND[kind], f.name, None, str(f), None, "no_readers", f"no {what}")]
        queries += found
        problems += trouble
    return queries, problems


def _collect_logs(
    source: SourceConfig,
    kind: str,
    snapshot: SnapshotWriter,
    record: Path | None,
    errors: list[CostscopeError],
) -> tuple[int, str | None]:
    """Read a log source (files, or a Loki) into the log tables → (lines read, version)."""
    writer = LogsWriter(snapshot, source.name)
    version = None
    if kind == "loki":
        try:
            with _api_client(source, record) as client:
                version, _ = LokiSource(client, writer).collect()
        finally:  # what was read before a failure is kept
            writer.close(period_s=source.lookback_s)
        return writer.lines, version
    files = _files(source, "logs")
    if not files:
        raise InputError(f"no {describe('logs')} files", file=str(source.path))
    for f in files:
        before = writer.lines
        try:
            for chunk in read_log_file(f, source.header):
                writer.add(chunk, f'{{filename="{f.name}"}}')
        except CostscopeError as exc:
            errors.append(exc)
            continue
        if writer.lines == before:
            errors.append(InputWarning("no log lines (an empty file)", file=str(f)))
    writer.close()
    return writer.lines, version


def _collect_traces(
    source: SourceConfig,
    kind: str,
    snapshot: SnapshotWriter,
    record: Path | None,
    errors: list[CostscopeError],
) -> int:
    """Read a trace source (files, Jaeger, Tempo) into spans and trace_operations → spans read."""
    writer = TracesWriter(snapshot, source.name)
    try:
        if kind in ("jaeger", "tempo"):
            with _api_client(source, record) as client:
                (collect_jaeger if kind == "jaeger" else collect_tempo)(client, writer)
            return writer.spans
        files = _files(source, "traces")
        if not files:
            raise InputError(f"no {describe('traces')} files", file=str(source.path))
        for f in files:
            before = writer.spans
            try:
                for batch in read_trace_file(f):
                    writer.add(batch)
            except CostscopeError as exc:
                errors.append(exc)
                continue
            if writer.spans == before:
                errors.append(InputWarning("no spans (a trace document with no spans in it)", file=str(f)))
        return writer.spans
    finally:  # what was read before a failure is kept
        writer.close()


def _collect_usage(
    source: SourceConfig,
    kind: str,
    snapshot: SnapshotWriter,
    record: Path | None,
    errors: list[CostscopeError],
) -> int:
    """Read a usage source into usage_refs / usage_problems; the number of queries read."""
    queries, problems = _usage_queries(source, kind, record, errors)
    refs, problem_rows = refs_frame(source.name, queries, problems)
    snapshot.append("usage_refs", refs)
    snapshot.append("usage_problems", problem_rows)
    return len(queries)


def _collect_exposition(
    source: SourceConfig, writer: MetricsWriter, progress: Progress | None, errors: list[CostscopeError]
) -> int:
    """Read /metrics or exposition files; every file is tried, each failure kept as an error."""
    if source.url is not None:
        with HttpClient(source) as client:
            return collect_url(source, writer, client).skipped_lines
    files = _files(source, "exposition")
    if not files:
        raise InputError(f"no {describe('exposition')} files", file=str(source.path))
    assert source.path is not None
    root = source.path if source.path.is_dir() else None
    skipped = 0
    for i, f in enumerate(files):
        if progress:
            progress(f.name, i, len(files))
        try:
            stats = collect_file(f, writer, lenient=source.lenient, root=root)
        except CostscopeError as exc:
            errors.append(exc)
            continue
        skipped += stats.skipped_lines
        if not stats.samples:
            errors.append(InputWarning("no samples (an exposition with no sample lines)", file=str(f)))
    return skipped


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
    kind = source.kind
    writer = MetricsWriter(snapshot, source.name)
    location = redact_url(source.location) if source.url else source.location
    skipped = 0
    errors: list[CostscopeError] = []
    flavour, version = kind, None
    read = 0
    imported = 0
    try:
        kind = flavour = infer_kind(source)
        if kind == "parquet":
            assert source.path is not None
            imported = read = collect_export(source.path, source.name, snapshot)
        elif kind in USAGE_KINDS:
            read = _collect_usage(source, kind, snapshot, record, errors)
        elif kind in LOG_KINDS:
            read, version = _collect_logs(source, kind, snapshot, record, errors)
        elif kind in TRACE_KINDS:
            read = _collect_traces(source, kind, snapshot, record, errors)
        elif kind == "exposition":
            skipped = _collect_exposition(source, writer, progress, errors)
        else:
            with _api_client(source, record) as client:
                info = detect(client, kind)
                flavour, version = info.flavour, info.version
                api = PrometheusApiSource(client, info.flavour, progress)
                try:
                    api.collect(snapshot, writer)
                finally:
                    errors.extend(api.errors)
    except CostscopeError as exc:
        errors.append(exc)
    except MALFORMED as exc:
        # a server's answer in a shape no version of it sends: say so for this source, keep the others
        errors.append(
            SourceError(
                f"unexpected answer ({type(exc).__name__}: {str(exc)[:160]})",
                source=source.name,
                url=location if source.url else None,
            )
        )
    series = writer.close() + imported
    failures = [e for e in errors if not isinstance(e, InputWarning)]
    status = "complete" if not failures else "partial" if series or read else "failed"
    result = SourceResult(
        name=source.name,
        kind=kind,
        location=location,
        status=status,
        flavour=flavour,
        version=version,
        series=series,
        skipped_lines=skipped,
        seconds=time.monotonic() - started,
    )
    return result, errors
