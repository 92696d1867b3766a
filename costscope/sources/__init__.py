"""Sources: where telemetry comes from, and turning a SOURCE argument into a SourceConfig.

A SOURCE on the command line is a URL or a path; its kind is inferred (``--kind`` forces it):
a URL whose path ends in ``/metrics`` is scraped as an exposition; a file or a directory of
``*.prom``/``*.txt``/``*.om`` files (gzip allowed) is read as exposition text. Other kinds
(Prometheus-compatible APIs, Loki, traces, dashboards) register here as they are added.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from costscope.config import SOURCE_KINDS, Config, SourceConfig
from costscope.credentials import redact_url
from costscope.errors import ConfigError, CostscopeError, InputError
from costscope.sources.http import HttpClient
from costscope.sources.metrics_file import EXPOSITION_SUFFIXES, collect_file, collect_url
from costscope.store.database import SnapshotWriter, SourceResult
from costscope.store.metrics import MetricsWriter

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
            sources.append(SourceConfig(name=_name_for(arg, taken), kind=kind, path=path))
    return sources


def exposition_files(path: Path) -> list[Path]:
    """The exposition files under ``path`` (itself, if it is a file), sorted."""
    if path.is_file():
        return [path]
    found = []
    for p in sorted(path.rglob("*")):
        name = p.name[:-3] if p.name.endswith(".gz") else p.name
        if p.is_file() and name.endswith(EXPOSITION_SUFFIXES):
            found.append(p)
    return found


def infer_kind(source: SourceConfig) -> str:
    """The kind of ``source`` when it says ``auto``."""
    if source.kind != "auto":
        return source.kind
    if source.url is not None:
        return "exposition" if urlsplit(source.url).path.rstrip("/").endswith("/metrics") else "prometheus"
    return "exposition"


Progress = Callable[[str], None]


def collect(
    source: SourceConfig, snapshot: SnapshotWriter, progress: Progress | None = None
) -> tuple[SourceResult, CostscopeError | None]:
    """Read one source into the snapshot; on failure keep what was read and return the error."""
    started = time.monotonic()
    kind = infer_kind(source)
    writer = MetricsWriter(snapshot, source.name)
    location = redact_url(source.location) if source.url else source.location
    skipped = 0
    error: CostscopeError | None = None
    try:
        if kind != "exposition":
            raise InputError(
                f"source kind {kind!r} is not supported yet; use a /metrics URL or exposition files",
                file=location,
            )
        if source.url is not None:
            with HttpClient(source) as client:
                skipped = collect_url(source, writer, client).skipped_lines
        else:
            assert source.path is not None
            files = exposition_files(source.path)
            if not files:
                raise InputError(
                    f"no exposition files ({', '.join(EXPOSITION_SUFFIXES)}) found", file=location
                )
            root = source.path if source.path.is_dir() else None
            for f in files:
                if progress:
                    progress(str(f))
                skipped += collect_file(f, writer, lenient=source.lenient, root=root).skipped_lines
    except CostscopeError as exc:
        error = exc
    series = writer.close()
    status = "complete" if error is None else "partial" if series else "failed"
    result = SourceResult(
        name=source.name,
        kind=kind,
        location=location,
        status=status,
        flavour="exposition",
        series=series,
        skipped_lines=skipped,
        seconds=time.monotonic() - started,
    )
    return result, error
