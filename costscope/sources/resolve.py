"""Turning SOURCE arguments and a config's sources into SourceConfigs, each with its kind.

A URL is a Prometheus-compatible API, or an exposition when its path ends in ``/metrics``; a folder
with ``recording.json`` is a recorded API, one with ``snapshots.parquet`` an export; any other file
is told by its content (``kinds``). A folder becomes one source per recording and export, plus one
per kind of the files in it (``NAME``, ``NAME/dashboards``, ``NAME/rules``, ``NAME/logs``,
``NAME/traces``, ``NAME/queries``); a file no kind recognises is a warning saying what it looked like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from costscope.config import Config, SourceConfig
from costscope.credentials import redact_url
from costscope.errors import ConfigError, InputError, InputWarning
from costscope.source_kinds import SOURCE_KINDS
from costscope.sources.kinds import classify, files_of_kind
from costscope.sources.kinds import detect as detect_kind
from costscope.sources.parquet_export import MARKER as EXPORT_MARKER
from costscope.sources.parquet_export import is_export
from costscope.sources.recording import MANIFEST, is_recording, recorded_kind

__all__ = ["Resolution", "files_for", "infer_kind", "resolve", "resolve_sources"]


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
    "series": "/series",
    "otlp_metrics": "/otlp-metrics",
    "grafana": "/dashboards",
    "rules": "/rules",
    "logs": "/logs",
    "otlp_logs": "/otlp-logs",
    "traces": "/traces",
    "queries": "/queries",
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
        contents = classify(path)
        for marker in (p for p in contents.markers if p.name == EXPORT_MARKER):
            sources.append(
                SourceConfig(name=_name_for(str(marker.parent), taken), kind="parquet", path=marker.parent)
            )
        for manifest in (p for p in contents.markers if p.name == MANIFEST):
            sources.append(SourceConfig(name=_name_for(str(manifest.parent), taken), path=manifest.parent))
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


def files_for(source: SourceConfig, kind: str) -> tuple[Path, ...]:
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
