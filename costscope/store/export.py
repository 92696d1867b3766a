"""Parquet export: every snapshot table as hive-partitioned Parquet, readable by any engine.

Layout: ``DIR/<table>/snapshot_date=YYYY-MM-DD/source=<source>/*.parquet`` (tables without a
``source`` column are partitioned by date only; ``snapshots`` itself is one file,
``DIR/snapshots.parquet``). Columns are the tables' own (docs/schema.md) plus ``snapshot_date``
from the partition path; DuckDB, Spark, Trino and ClickHouse read the tree as it is, e.g.
``SELECT * FROM read_parquet('DIR/metric_series/**/*.parquet', hive_partitioning = true)``.
"""

from __future__ import annotations

from pathlib import Path

from costscope.store.database import Store
from costscope.store.retention import snapshot_tables


def sql_path(path: Path) -> str:
    """A path as a DuckDB string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def export_parquet(store: Store, out: Path) -> dict[str, int]:
    """Write the store's snapshots under ``out``; returns rows written per table."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    store.conn.execute(
        f"COPY (SELECT * FROM snapshots ORDER BY id) TO {sql_path(out / 'snapshots.parquet')} (FORMAT parquet)"
    )
    written["snapshots"] = int(store.query("SELECT count(*) AS n FROM snapshots")["n"][0])
    for table in snapshot_tables(store):
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
