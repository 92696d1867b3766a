"""Reading back what ``costscope export --parquet`` wrote: many clusters' snapshots in one analysis.

A directory holding ``snapshots.parquet`` is an export. Its newest complete (or partial) snapshot
is read into the new snapshot, table by table, straight from Parquet by DuckDB; each row's
``source`` becomes ``<export name>/<source>`` so that two clusters with a source of the same name
stay apart. Usage, logs and traces come along with the metrics.
"""

from __future__ import annotations

from pathlib import Path

from costscope.errors import InputError
from costscope.store.database import SnapshotWriter
from costscope.store.export import sql_path

MARKER = "snapshots.parquet"
TABLES = (
    "metric_meta", "metric_series", "series_labels", "scrape_stats", "usage_refs", "usage_problems",
    "log_volume", "log_templates", "trace_operations", "spans",
)  # fmt: skip


def is_export(path: Path) -> bool:
    """Whether ``path`` is a directory written by ``costscope export --parquet``."""
    return path.is_dir() and (path / MARKER).is_file()


def collect_export(path: Path, name: str, snapshot: SnapshotWriter) -> int:
    """Copy the export's newest snapshot into ``snapshot``; returns the series read."""
    conn = snapshot.conn
    try:
        newest = conn.execute(
            f"SELECT max(id) FROM read_parquet({sql_path(path / MARKER)}) WHERE status IN ('complete', 'partial')"
        ).fetchall()[0][0]
    except Exception as exc:
        raise InputError(f"not a readable costscope export: {exc}", file=str(path)) from None
    if newest is None:
        raise InputError("the export holds no complete snapshot", file=str(path))
    series = 0
    for table in TABLES:
        folder = path / table
        if not folder.is_dir():
            continue
        files = f"read_parquet({sql_path(folder / '**' / '*.parquet')}, hive_partitioning = true, union_by_name = true)"
        exported = {r[0] for r in conn.execute(f"DESCRIBE SELECT * FROM {files}").fetchall()}
        # an export from an older schema lacks the newer columns: they stay at their defaults
        columns = [
            r[0]
            for r in conn.execute(f"DESCRIBE {table}").fetchall()
            if r[0] != "snapshot_id" and r[0] in exported
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
        if table == "metric_series":
            series = conn.execute(
                "SELECT count(*) FROM metric_series WHERE snapshot_id = ? AND source LIKE ? || '/%'",
                [snapshot.id, name],
            ).fetchall()[0][0]
    return int(series)
