"""One snapshot being written: its rows in a single transaction, then its final status.

Everything ``SnapshotWriter`` writes is committed together with the status it ends with, or rolled
back whole; ``SourceResult`` and ``SourceErrorRecord`` are how each source ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from costscope.errors import StoreError

if TYPE_CHECKING:
    from costscope.store.database import Store

FINAL_STATUSES = ("complete", "partial", "failed")


@dataclass(frozen=True)
class SourceResult:
    """How one source ended within a snapshot."""

    name: str
    kind: str
    location: str
    status: str
    flavour: str | None = None
    version: str | None = None
    series: int = 0
    skipped_lines: int = 0
    seconds: float | None = None


@dataclass(frozen=True)
class SourceErrorRecord:
    """A failure of one source, kept with the snapshot and shown in every output."""

    source: str
    location: str | None
    stage: str
    message: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    severity: str = "error"  # error | warning (said, but the run is not partial for it)


class SnapshotWriter:
    """Writes one snapshot's rows inside a single transaction, then sets its final status."""

    def __init__(self, store: Store, snapshot_id: int) -> None:
        self.store = store
        self.id = snapshot_id
        self.conn = store.conn
        self._open = False

    @contextmanager
    def transaction(self) -> Iterator[SnapshotWriter]:
        """Everything written inside is committed together with the final status, or not at all."""
        self.conn.execute("BEGIN TRANSACTION")
        self._open = True
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._open = False
            self.conn.execute(
                "UPDATE snapshots SET status = 'failed', finished_at = now(),"
                " note = 'the run raised an error; nothing was kept' WHERE id = ?",
                [self.id],
            )
            raise
        if self._open:  # the block returned without finish(): keep nothing
            self.conn.execute("ROLLBACK")
            self._open = False
            raise StoreError("snapshot written without finish()", path=str(self.store.path))

    def add_source(self, result: SourceResult) -> None:
        """Record how one source ended."""
        self.conn.execute(
            "INSERT INTO snapshot_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                self.id,
                result.name,
                result.kind,
                result.location,
                result.flavour,
                result.version,
                result.status,
                result.series,
                result.skipped_lines,
                result.seconds,
            ],
        )

    def add_error(self, error: SourceErrorRecord) -> None:
        """Record one source failure."""
        self.conn.execute(
            "INSERT INTO source_errors (snapshot_id, source, location, stage, message, occurred_at, severity)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [self.id, error.source, error.location, error.stage, error.message, error.at, error.severity],
        )

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Append ``frame`` (columns named as the table's, without snapshot_id) to ``table``."""
        if frame.is_empty():
            return
        cols = ", ".join(frame.columns)
        self.conn.register("_costscope_batch", frame.to_arrow())
        try:
            self.conn.execute(
                f"INSERT INTO {table} (snapshot_id, {cols}) SELECT ?, {cols} FROM _costscope_batch",
                [self.id],
            )
        finally:
            self.conn.unregister("_costscope_batch")

    def finish(self, status: str, timings: Mapping[str, float], note: str | None = None) -> None:
        """Set the final status and stage timings and commit the whole snapshot."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"unknown final status {status!r}")
        errors = self.conn.execute(
            "SELECT count(*) FROM source_errors WHERE snapshot_id = ? AND severity = 'error'", [self.id]
        ).fetchall()
        self.conn.execute(
            "UPDATE snapshots SET status = ?, finished_at = now(), error_count = ?,"
            " stage_timings = ?, note = ? WHERE id = ?",
            [status, errors[0][0], json.dumps(dict(timings)), note, self.id],
        )
        self.conn.execute("COMMIT")
        self._open = False
