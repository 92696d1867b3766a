"""Sources: where telemetry comes from, and turning a SOURCE argument into a SourceConfig.

A SOURCE on the command line is a URL or a path; its kind is inferred (``--kind`` forces it):
a URL whose path ends in ``/metrics`` is scraped as an exposition, any other URL is a
Prometheus-compatible API (the flavour is detected); a folder with ``recording.json`` is a
recorded API; a file or a folder of ``*.prom``/``*.txt``/``*.om`` files (gzip allowed) is read as
exposition text. A folder holding both becomes one source per recording plus one for the files.

Usage sources say what is read: ``grafana`` (a Grafana URL, or dashboard JSON files) and ``rules``
(a Prometheus-compatible URL's ``/api/v1/rules``, or rule and SLO YAML files). In a folder,
dashboards (``*.json``) and rule/SLO files (``*.yml``, ``*.yaml``) become one source of each.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from costscope.config import LOG_KINDS, SOURCE_KINDS, TRACE_KINDS, USAGE_KINDS, Config, SourceConfig
from costscope.credentials import redact_url
from costscope.errors import ConfigError, CostscopeError, InputError, SourceError
from costscope.sources.dashboards import dashboard_queries, grafana_queries, is_dashboard, read_dashboard_file
from costscope.sources.http import HttpClient
from costscope.sources.log_files import log_files, read_log_file
from costscope.sources.loki import LokiSource
from costscope.sources.metrics_file import EXPOSITION_SUFFIXES, collect_file, collect_url
from costscope.sources.parquet_export import MARKER as EXPORT_MARKER
from costscope.sources.parquet_export import collect_export, is_export
from costscope.sources.prometheus_api import PrometheusApiSource, detect
from costscope.sources.replay import MANIFEST, ReplayTransport, is_recording, load_manifest, recorded_kind
from costscope.sources.rules import api_rule_queries, yaml_usage
from costscope.sources.trace_apis import collect_jaeger, collect_tempo
from costscope.sources.traces import read_trace_file
from costscope.sources.usage import MALFORMED, Problem, Query, refs_frame
from costscope.store.database import SnapshotWriter, SourceResult
from costscope.store.logs import LogsWriter
from costscope.store.metrics import MetricsWriter
from costscope.store.traces import TracesWriter

Progress = Callable[[str, int, int], None]

__all__ = ["collect", "exposition_files", "resolve_sources"]


def _name_for(arg: str, taken: set[str]) -> str:
    parts = urlsplit(arg)
    base = parts.netloc.rsplit("@", 1)[-1] if parts.scheme in ("http", "https") else Path(arg).name
    base = base or "source"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    taken.add(name)
    return name


def resolve_sources(args: Sequence[str], config: Config, kind: str = "auto") -> list[SourceConfig]:
    """The sources to read: the config's, then one per SOURCE argument."""
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"unknown source kind {kind!r} (allowed: {', '.join(SOURCE_KINDS)})", field="--kind"
        )
    sources = list(config.sources)
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
        else:
            path = Path(arg)
            if not path.exists():
                raise InputError("no such file or directory", file=arg)
            if path.is_dir() and kind == "auto" and not is_recording(path) and not is_export(path):
                # a folder may hold recordings of servers beside exposition files: one source each
                for marker in sorted(path.rglob(EXPORT_MARKER)):
                    sources.append(
                        SourceConfig(
                            name=_name_for(str(marker.parent), taken), kind="parquet", path=marker.parent
                        )
                    )
                for manifest in sorted(path.rglob(MANIFEST)):
                    sources.append(
                        SourceConfig(name=_name_for(str(manifest.parent), taken), path=manifest.parent)
                    )
                if exposition_files(path):
                    sources.append(SourceConfig(name=_name_for(arg, taken), path=path))
                dashboards, yamls = usage_files(path)
                if dashboards:
                    sources.append(
                        SourceConfig(name=_name_for(f"{arg}/dashboards", taken), kind="grafana", path=path)
                    )
                if yamls:
                    sources.append(
                        SourceConfig(name=_name_for(f"{arg}/rules", taken), kind="rules", path=path)
                    )
                if _log_files_in(path):
                    sources.append(SourceConfig(name=_name_for(f"{arg}/logs", taken), kind="logs", path=path))
                if _outside_recordings(path, TRACE_NAMES):
                    sources.append(
                        SourceConfig(name=_name_for(f"{arg}/traces", taken), kind="traces", path=path)
                    )
                continue
            sources.append(SourceConfig(name=_name_for(arg, taken), kind=kind, path=path))
    return sources


def exposition_files(path: Path) -> list[Path]:
    """The exposition files under ``path`` (itself, if it is a file), sorted; recordings excluded."""
    if path.is_file():
        return [path]
    recordings = [r.parent for r in path.rglob(MANIFEST)]
    found = []
    for p in sorted(path.rglob("*")):
        name = p.name[:-3] if p.name.endswith(".gz") else p.name
        if p.is_file() and name.endswith(EXPOSITION_SUFFIXES) and not any(r in p.parents for r in recordings):
            found.append(p)
    return found


def _outside_recordings(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    recordings = [r.parent for r in path.rglob(MANIFEST)]
    return [
        p
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name.endswith(suffixes) and not any(r in p.parents for r in recordings)
    ]


MAX_DASHBOARD_BYTES = 64 << 20  # no dashboard is this big; a JSON file that is holds data, not panels


def _maybe_dashboard(path: Path) -> bool:
    """A JSON file in a folder is a dashboard if it looks like one (or is broken: say so later).

    Trace files (named for their format) and files over ``MAX_DASHBOARD_BYTES`` are not read.
    """
    if path.name.endswith(TRACE_NAMES):
        return False
    try:
        if path.stat().st_size > MAX_DASHBOARD_BYTES:
            return False
        return is_dashboard(json.loads(path.read_bytes()))
    except (ValueError, OSError):
        return True


_LOG_NAMES = (".log", ".jsonl", ".ndjson", ".logfmt", ".log.gz", ".jsonl.gz", ".ndjson.gz")
# trace files are named for their format, so a folder tells them from logs and dashboards
TRACE_NAMES = tuple(
    f".{fmt}.{ext}"
    for fmt in ("otlp", "zipkin", "jaeger", "traces")
    for ext in ("json", "jsonl", "json.gz", "jsonl.gz")
)


def _log_files_in(path: Path) -> list[Path]:
    return [p for p in _outside_recordings(path, _LOG_NAMES) if not p.name.endswith(TRACE_NAMES)]


def usage_files(path: Path) -> tuple[list[Path], list[Path]]:
    """Dashboard JSON files and rule/SLO YAML files under ``path`` (itself, if a file)."""
    if path.is_file():
        return ([path], []) if path.suffix == ".json" else ([], [path])
    dashboards = [p for p in _outside_recordings(path, (".json",)) if _maybe_dashboard(p)]
    yamls = [p for p in _outside_recordings(path, (".yml", ".yaml")) if not p.name.startswith("costscope")]
    return dashboards, yamls


def infer_kind(source: SourceConfig) -> str:
    """The kind of ``source`` when it says ``auto``."""
    if source.kind != "auto":
        return source.kind
    if source.url is not None:
        return "exposition" if urlsplit(source.url).path.rstrip("/").endswith("/metrics") else "prometheus"
    assert source.path is not None
    if source.path.is_file() and source.path.suffix == ".json":
        return "grafana"
    if source.path.is_file() and source.path.suffix in (".yml", ".yaml"):
        return "rules"
    if is_export(source.path):
        return "parquet"
    if source.path.is_file() and source.path.name.endswith(TRACE_NAMES):
        return "traces"
    if source.path.is_file() and source.path.name.endswith(_LOG_NAMES):
        return "logs"
    return recorded_kind(source.path) if is_recording(source.path) else "exposition"


def _usage_queries(
    source: SourceConfig, kind: str, record: Path | None, errors: list[CostscopeError]
) -> tuple[list[Query], list[Problem]]:
    """The queries of a usage source; a bad file is an error and the other files go on."""
    if source.url is not None or (source.path is not None and is_recording(source.path)):
        with _api_client(source, record) as client:
            if kind == "grafana":
                return grafana_queries(client)
            return api_rule_queries(client), []
    assert source.path is not None
    dashboards, yamls = usage_files(source.path)
    files = dashboards if kind == "grafana" else yamls
    if not files:
        raise InputError(
            f"no {'dashboard JSON' if kind == 'grafana' else 'rule or SLO YAML'} files", file=str(source.path)
        )
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
    assert source.path is not None
    files = log_files(source.path) if source.path.is_file() else _log_files_in(source.path)
    if not files:
        raise InputError(f"no log files ({', '.join(_LOG_NAMES)})", file=str(source.path))
    for f in files:
        try:
            for chunk in read_log_file(f, source.header):
                writer.add(chunk, f'{{filename="{f.name}"}}')
        except CostscopeError as exc:
            errors.append(exc)
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
        assert source.path is not None
        files = [source.path] if source.path.is_file() else _outside_recordings(source.path, TRACE_NAMES)
        if not files:
            raise InputError(f"no trace files ({', '.join(TRACE_NAMES[:4])} ...)", file=str(source.path))
        for f in files:
            try:
                for batch in read_trace_file(f):
                    writer.add(batch)
            except CostscopeError as exc:
                errors.append(exc)
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


def _collect_exposition(source: SourceConfig, writer: MetricsWriter, progress: Progress | None) -> int:
    if source.url is not None:
        with HttpClient(source) as client:
            return collect_url(source, writer, client).skipped_lines
    assert source.path is not None
    files = exposition_files(source.path)
    if not files:
        raise InputError(
            f"no exposition files ({', '.join(EXPOSITION_SUFFIXES)}) found", file=str(source.path)
        )
    root = source.path if source.path.is_dir() else None
    skipped = 0
    for i, f in enumerate(files):
        if progress:
            progress(f.name, i, len(files))
        skipped += collect_file(f, writer, lenient=source.lenient, root=root).skipped_lines
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
    kind = infer_kind(source)
    writer = MetricsWriter(snapshot, source.name)
    location = redact_url(source.location) if source.url else source.location
    skipped = 0
    errors: list[CostscopeError] = []
    flavour, version = kind, None
    read = 0
    imported = 0
    try:
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
            skipped = _collect_exposition(source, writer, progress)
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
    status = "complete" if not errors else "partial" if series or read else "failed"
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
