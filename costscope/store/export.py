"""Parquet export: every snapshot table as hive-partitioned Parquet, readable by any engine, and back.

Layout: ``DIR/<table>/snapshot_date=YYYY-MM-DD/source=<source>/*.parquet`` (tables without a
``source`` column are partitioned by date only; ``snapshots`` itself is one file,
``DIR/snapshots.parquet``). Columns are the tables' own (docs/schema.md) plus ``snapshot_date``
from the partition path; DuckDB, Spark, Trino and ClickHouse read the tree as it is, e.g.
``SELECT * FROM read_parquet('DIR/metric_series/**/*.parquet', hive_partitioning = true)``.
"""

from __future__ import annotations

from pathlib import Path

from costscope.errors import InputError
from costscope.source_kinds import EXPORT_MARKER
from costscope.store.database import Store
from costscope.store.schema import FAMILY_IDS
from costscope.store.snapshot import SnapshotWriter, snapshot_tables

IMPORTED_TABLES = (
    "metric_meta", "metric_series", "series_labels", "scrape_stats", "usage_refs", "usage_problems",
    "log_volume", "log_templates", "trace_operations", "spans", "query_windows",
    "counted_series", "counted_groups", "counted_labels", "counted_keep_sets", "counted_points",
    "counted_pairs", "counted_label_values", "count_runs",
)  # fmt: skip


def sql_path(path: Path) -> str:
    """A path as a DuckDB string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(store: Store, out: Path) -> dict[str, int]:
    """Write the store's snapshots under ``out``; returns rows written per table."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    store.conn.execute(
        f"COPY (SELECT * FROM snapshots ORDER BY id) TO {sql_path(out / EXPORT_MARKER)} (FORMAT parquet)"
    )
    written["snapshots"] = int(store.query("SELECT count(*) AS n FROM snapshots")["n"][0])
    for table in snapshot_tables(store.conn):
        n = int(store.query(f"SELECT count(*) AS n FROM {table}")["n"][0])
        if not n:
            continue
        columns = set(store.query(f"SELECT * FROM {table} LIMIT 0").columns)
        partitions = "snapshot_date, source" if "source" in columns else "snapshot_date"
        store.conn.execute(
            f"COPY (SELECT t.*, strftime(s.started_at, '%Y-%m-%d') AS snapshot_date FROM {table} t"
            f" JOIN snapshots s ON s.id = t.snapshot_id)"
            f" TO {sql_path(out / table)} (FORMAT parquet, PARTITION_BY ({partitions}), OVERWRITE_OR_IGNORE)"
        )
        written[table] = n
    return written


def import_export(path: Path, name: str, snapshot: SnapshotWriter) -> int:
    """Copy an export's newest complete (or partial) snapshot into ``snapshot``; returns the series read.

    Each row's ``source`` becomes ``<name>/<source>`` so that two clusters' sources of one name stay
    apart. Usage, logs and traces come along with the metrics.
    """
    conn = snapshot.conn
    try:
        newest = conn.execute(
            f"SELECT max(id) FROM read_parquet({sql_path(path / EXPORT_MARKER)}) WHERE status IN ('complete', 'partial')"
        ).fetchall()[0][0]
    except Exception as exc:
        raise InputError(f"not a readable costscope export: {exc}", file=str(path)) from None
    if newest is None:
        raise InputError("the export holds no complete snapshot", file=str(path))
    series = 0
    for table in IMPORTED_TABLES:
        folder = path / table
        if not folder.is_dir():
            continue
        files = f"read_parquet({sql_path(folder / '**' / '*.parquet')}, hive_partitioning = true, union_by_name = true)"
        exported = {r[0] for r in conn.execute(f"DESCRIBE SELECT * FROM {files}").fetchall()}
        # an export from an older schema lacks the newer columns: they stay at their defaults
        columns = [
            r[0]
            for r in conn.execute(f"DESCRIBE {table}").fetchall()
            if r[0] not in ("snapshot_id", "family_id") and r[0] in exported  # family keys: made here
        ]
        selected = ", ".join(
            f"? || '/' || {c}" if c == "source" else c for c in columns
        )  # the export's name keeps two clusters' sources apart
        params: list[object] = [name] if "source" in columns else []
        conn.execute(
            f"INSERT INTO {table} (snapshot_id, {', '.join(columns)})"
            f" SELECT ?, {selected} FROM {files} WHERE snapshot_id = ?",
            [snapshot.id, *params, newest],
        )
        if table in ("metric_series", "counted_series"):  # series pulled, or counted by a backend
            count = "count(*)" if table == "metric_series" else "coalesce(sum(series), 0)"
            series += conn.execute(
                f"SELECT {count} FROM {table} WHERE snapshot_id = ? AND source LIKE ? || '/%'",
                [snapshot.id, name],
            ).fetchall()[0][0]
    conn.execute(FAMILY_IDS)
    return int(series)
