"""One snapshot being written: its rows, then its final status.

Everything ``SnapshotWriter`` writes is kept together with the status it ends with, or discarded
whole; ``SourceResult`` and ``SourceErrorRecord`` are how each source ended. The rows are written
in one transaction, except that a large collection commits its rows along the way
(``commit_rows``): DuckDB holds an open transaction's appends in memory that its memory limit
does not bound (about 50 MiB per million label rows), so ten million series would need
gigabytes. Rows committed that way belong to a snapshot still ``running``, which no reader
takes as a result; if the run fails they are deleted, and if the process dies the next writer
deletes them (``discard_rows``) when it marks the snapshot ``failed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from costscope.errors import StoreError

if TYPE_CHECKING:
    from costscope.store.database import Store

FINAL_STATUSES = ("complete", "partial", "failed")


@contextmanager
def atomic(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The statements inside commit together, or are rolled back together."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def snapshot_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table holding per-snapshot rows (those with a ``snapshot_id`` column)."""
    rows = conn.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns"
        " WHERE column_name = 'snapshot_id' AND table_schema = 'main' ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def discard_rows(conn: duckdb.DuckDBPyConnection, snapshot_ids: list[int]) -> None:
    """Delete every row of these snapshots except their ``snapshots`` row (inside the caller's transaction)."""
    if not snapshot_ids:
        return
    marks = ", ".join("?" for _ in snapshot_ids)
    for table in snapshot_tables(conn):
        conn.execute(f"DELETE FROM {table} WHERE snapshot_id IN ({marks})", snapshot_ids)


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
        self._committed = False  # whether commit_rows made some of its rows durable already

    @contextmanager
    def transaction(self) -> Iterator[SnapshotWriter]:
        """Everything written inside is committed together with the final status, or not at all."""
        self.conn.execute("BEGIN TRANSACTION")
        self._open = True
        try:
            yield self
        except BaseException:
            self._discard("the run raised an error; nothing was kept")
            raise
        if self._open:  # the block returned without finish(): keep nothing
            self._discard("the run ended without a final status; nothing was kept")
            raise StoreError("snapshot written without finish()", path=str(self.store.path))

    def commit_rows(self) -> None:
        """Make the rows written so far durable (still invisible: the snapshot stays ``running``)."""
        if self._open:
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN TRANSACTION")
            self._committed = True

    def _discard(self, note: str) -> None:
        self.conn.execute("ROLLBACK")
        self._open = False
        with atomic(self.conn):
            if self._committed:
                discard_rows(self.conn, [self.id])
            self.conn.execute(
                "UPDATE snapshots SET status = 'failed', finished_at = now(), note = ? WHERE id = ?",
                [note, self.id],
            )

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
