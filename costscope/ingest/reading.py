"""One source being read: what it is, where its rows go, and the helpers every reader shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from costscope.config import SourceConfig
from costscope.errors import CostscopeError, InputError
from costscope.ingest.metrics import MetricsWriter
from costscope.sources.http import HttpClient
from costscope.sources.kinds import describe
from costscope.sources.recording import MANIFEST, is_recording, load_manifest
from costscope.sources.resolve import files_for
from costscope.store.snapshot import SnapshotWriter

Progress = Callable[[str, int, int], None]


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
    group_labels: tuple[str, ...] = ("job",)  # counts mode: series per job and ownership labels


def files_of(r: Reading) -> tuple[Path, ...]:
    """The files a path source of ``r.kind`` reads; none is an error naming the path."""
    files = files_for(r.source, r.kind)
    if not files:
        raise InputError(f"no {describe(r.kind)} files", file=str(r.source.path))
    return files


def api_client(source: SourceConfig, record: Path | None) -> HttpClient:
    """The client of a live source, recording its answers under ``record`` — or replaying a recording."""
    if source.path is not None:
        if not is_recording(source.path):
            raise InputError(f"not a recording (no {MANIFEST})", file=str(source.path))
        from costscope.sources.replay import ReplayTransport  # httpx: only where a client is made

        base = load_manifest(source.path)["base_url"]
        return HttpClient(replace(source, url=base), transport=ReplayTransport(source.path))
    if record is not None:
        return HttpClient(source, record_to=record / source.name)
    return HttpClient(source)
