"""Sources: where telemetry comes from, and turning a SOURCE argument into a SourceConfig.

A SOURCE on the command line is a URL or a path; its kind is inferred (``--kind`` forces it):
a URL whose path ends in ``/metrics`` is scraped as an exposition, any other URL is a
Prometheus-compatible API (the flavour is detected); a folder with ``recording.json`` is a
recorded API; a file or a folder of ``*.prom``/``*.txt``/``*.om`` files (gzip allowed) is read as
exposition text. A folder holding both becomes one source per recording plus one for the files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from costscope.config import SOURCE_KINDS, Config, SourceConfig
from costscope.credentials import redact_url
from costscope.errors import ConfigError, CostscopeError, InputError
from costscope.sources.http import HttpClient
from costscope.sources.metrics_file import EXPOSITION_SUFFIXES, collect_file, collect_url
from costscope.sources.prometheus_api import PrometheusApiSource, detect
from costscope.sources.replay import MANIFEST, ReplayTransport, is_recording, load_manifest
from costscope.store.database import SnapshotWriter, SourceResult
from costscope.store.metrics import MetricsWriter

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
            if path.is_dir() and kind == "auto" and not is_recording(path):
                # a folder may hold recordings of servers beside exposition files: one source each
                for manifest in sorted(path.rglob(MANIFEST)):
                    sources.append(
                        SourceConfig(name=_name_for(str(manifest.parent), taken), path=manifest.parent)
                    )
                if exposition_files(path):
                    sources.append(SourceConfig(name=_name_for(arg, taken), path=path))
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


def infer_kind(source: SourceConfig) -> str:
    """The kind of ``source`` when it says ``auto``."""
    if source.kind != "auto":
        return source.kind
    if source.url is not None:
        return "exposition" if urlsplit(source.url).path.rstrip("/").endswith("/metrics") else "prometheus"
    assert source.path is not None
    return "prometheus" if is_recording(source.path) else "exposition"


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
    try:
        if kind == "exposition":
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
    series = writer.close()
    status = "complete" if not errors else "partial" if series else "failed"
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
