"""One DuckDB file: opening it safely, migrating it, and the life cycle of a snapshot.

A snapshot goes ``begin → write → complete | partial | failed``. ``begin`` commits a row with
status ``running`` on its own; everything the run collects is then written in one transaction
that also sets the final status (a large collection commits its rows along the way, still under
the ``running`` snapshot: see ``store.snapshot``). A crash or ``kill -9`` mid-run therefore
leaves only a ``running`` snapshot, which the next writer marks ``failed``, deleting whatever
rows it had; every earlier snapshot stays intact. DuckDB allows one writing process per file: a second
costscope waits up to ``lock_timeout`` seconds, then fails with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from costscope._version import __version__
from costscope.errors import StoreError
from costscope.store.schema import MIGRATIONS, SCHEMA_VERSION
from costscope.store.snapshot import SnapshotWriter, atomic, discard_rows

DEFAULT_DB = "costscope.duckdb"
# DuckDB spills to disk beyond this, so analysis of tens of millions of series stays bounded;
# $COSTSCOPE_MEMORY_LIMIT (a DuckDB size such as 8GB) overrides it
DEFAULT_MEMORY_LIMIT = "3GB"
# while a collection only appends, DuckDB's cache of the blocks it wrote is worth little: a
# smaller limit keeps ingesting ten million series under 2 GiB (benchmarks/analyze_metrics.py)
COLLECT_MEMORY_LIMIT = "1GB"


def default_db_path() -> Path:
    """``$COSTSCOPE_DB`` if set, else ``./costscope.duckdb``."""
    return Path(os.environ.get("COSTSCOPE_DB") or DEFAULT_DB)


@dataclass(frozen=True)
class SourceInfo:
    """What the snapshot row records about one source (never credentials)."""

    name: str
    kind: str
    location: str


_LOCK_PID = re.compile(r"PID (\d+)")


def _connect(path: Path, read_only: bool, lock_timeout: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + lock_timeout
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise StoreError(f"cannot open the database: {text}", path=str(path)) from None
            if time.monotonic() >= deadline:
                pid = _LOCK_PID.search(text)
                holder = f" (pid {pid.group(1)})" if pid else ""
                raise StoreError(
                    f"the database is in use by another process{holder}; wait for it to finish"
                    " or pass another --db",
                    path=str(path),
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the database: {exc}", path=str(path)) from None


class Store:
    """A costscope DuckDB file; reads come back as polars DataFrames."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.conn = conn
        self.path = path
        self.memory_limit = DEFAULT_MEMORY_LIMIT
        self.read_only = read_only

    @classmethod
    def open(
        cls, path: str | Path | None = None, *, read_only: bool = False, lock_timeout: float = 10.0
    ) -> Store:
        """Open (creating and migrating if needed) the store at ``path``."""
        p = Path(path) if path is not None else default_db_path()
        if read_only and not p.exists():
            raise StoreError("no such database; run `costscope analyze` first", path=str(p))
        if not read_only and p.parent and not p.parent.exists():
            raise StoreError(f"directory {p.parent} does not exist", path=str(p))
        store = cls(_connect(p, read_only, lock_timeout), p, read_only)
        try:
            limit = os.environ.get("COSTSCOPE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
            try:
                store._set_memory_limit(limit)
            except duckdb.Error as exc:
                raise StoreError(f"invalid COSTSCOPE_MEMORY_LIMIT {limit!r}: {exc}") from None
            store.memory_limit = limit
            store.conn.execute("SET preserve_insertion_order = false")
            with contextlib.suppress(duckdb.Error):  # in Jupyter DuckDB may refuse to touch it
                store.conn.execute("SET enable_progress_bar = false")  # ours draws on the terminal
            store._prepare()
        except BaseException:
            store.close()
            raise
        return store

    def _set_memory_limit(self, limit: str) -> None:
        self.conn.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")

    @contextlib.contextmanager
    def appending(self) -> Iterator[None]:
        """Hold DuckDB's memory to ``COLLECT_MEMORY_LIMIT`` while a collection appends (unless
        $COSTSCOPE_MEMORY_LIMIT chose one), then give analysis the whole limit back."""
        if os.environ.get("COSTSCOPE_MEMORY_LIMIT"):
            yield
            return
        self._set_memory_limit(COLLECT_MEMORY_LIMIT)
        try:
            yield
        finally:
            self._set_memory_limit(self.memory_limit)

    def _prepare(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {version}, newer than this costscope"
                f" ({SCHEMA_VERSION}); upgrade costscope",
                path=str(self.path),
            )
        if self.read_only:
            if version < SCHEMA_VERSION:
                raise StoreError(
                    "the database needs a migration; open it once without read_only",
                    path=str(self.path),
                )
            return
        self._migrate(version)
        # We hold the only write lock, so a 'running' snapshot is one whose process died: the
        # rows it had committed along the way go, and it is marked failed, in one transaction
        dead = [
            r[0] for r in self.conn.execute("SELECT id FROM snapshots WHERE status = 'running'").fetchall()
        ]
        if not dead:
            return
        with atomic(self.conn):
            discard_rows(self.conn, dead)
            self.conn.execute(
                "UPDATE snapshots SET status = 'failed', finished_at = coalesce(finished_at, now()),"
                " note = coalesce(note, 'interrupted: the run ended before it completed')"
                " WHERE status = 'running'"
            )

    def schema_version(self) -> int:
        """The schema version of this file (0 for a new, empty file)."""
        try:
            has = self.conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
            ).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"not a costscope database: {exc}", path=str(self.path)) from None
        if not has[0][0]:
            tables = self.conn.execute("SELECT count(*) FROM information_schema.tables").fetchall()
            if tables[0][0]:
                raise StoreError("this DuckDB file is not a costscope database", path=str(self.path))
            return 0
        (row,) = self.conn.execute("SELECT max(version) FROM schema_migrations").fetchall()
        return int(row[0]) if row[0] is not None else 0

    def _migrate(self, current: int) -> None:
        if current == 0:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
            )
        for m in MIGRATIONS:
            if m.version <= current:
                continue
            with atomic(self.conn):
                self.conn.execute(m.sql)
                self.conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now())", [m.version, m.description]
                )

    def close(self) -> None:
        """Close the connection and release the file lock."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- snapshot life cycle --------------------------------------------------------------

    def begin(self, run_id: str, sources: Sequence[SourceInfo], pricing: str = "") -> SnapshotWriter:
        """Record a ``running`` snapshot (committed at once) and return its writer."""
        if self.read_only:
            raise StoreError("the database was opened read-only", path=str(self.path))
        row = self.conn.execute(
            "INSERT INTO snapshots (run_id, started_at, status, costscope_version, sources, pricing)"
            " VALUES (?, now(), 'running', ?, ?, ?) RETURNING id",
            [run_id, __version__, json.dumps([s.__dict__ for s in sources]), pricing],
        ).fetchall()
        return SnapshotWriter(self, int(row[0][0]))

    def set_timings(self, snapshot_id: int, timings: Mapping[str, float]) -> None:
        """Replace the stage timings of a finished snapshot (the report stage ends after commit)."""
        self.conn.execute(
            "UPDATE snapshots SET stage_timings = ? WHERE id = ?",
            [json.dumps(dict(timings)), snapshot_id],
        )

    # --- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Run a read query and return its rows as a polars DataFrame."""
        frame: pl.DataFrame = self.conn.sql(sql, params=params).pl()
        return frame

    def snapshots(self) -> pl.DataFrame:
        """Every snapshot, newest first."""
        return self.query(
            "SELECT id, run_id, started_at, finished_at, status, costscope_version, error_count,"
            " sources, stage_timings, pricing, note FROM snapshots ORDER BY id DESC"
        )

    def latest_snapshot_id(self, statuses: Sequence[str] = ("complete", "partial")) -> int | None:
        """Id of the newest snapshot with one of ``statuses``, or None."""
        marks = ", ".join("?" for _ in statuses)
        row = self.conn.execute(
            f"SELECT max(id) FROM snapshots WHERE status IN ({marks})", list(statuses)
        ).fetchall()
        return int(row[0][0]) if row[0][0] is not None else None

    def source_errors(self, snapshot_id: int) -> pl.DataFrame:
        """The errors recorded for one snapshot."""
        return self.query(
            "SELECT source, location, stage, message, occurred_at, severity FROM source_errors"
            " WHERE snapshot_id = ? ORDER BY occurred_at",
            [snapshot_id],
        )

    def snapshot_sources(self, snapshot_id: int) -> pl.DataFrame:
        """How each source of one snapshot ended."""
        return self.query(
            "SELECT s.source, s.kind, s.location, s.flavour, s.version, s.status, s.series, s.skipped_lines,"
            " s.seconds, c.mode AS collect, c.reason AS collect_reason, c.queries, c.samples AS query_samples,"
            " c.seconds AS query_seconds, c.slowest::VARCHAR AS slowest_queries"
            " FROM snapshot_sources s"
            " LEFT JOIN count_runs c ON c.snapshot_id = s.snapshot_id AND c.source = s.source"
            " WHERE s.snapshot_id = ? ORDER BY s.source",
            [snapshot_id],
        )
