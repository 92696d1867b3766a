"""The commands that manage the store: ``prune``, ``export``, ``snapshots``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from costscope.cli.app import DbOpt, LockOpt, NoColorOpt, app, fail, open_store
from costscope.errors import CostscopeError


@app.command()
def prune(
    keep: Annotated[str, typer.Option("--keep", help="Keep snapshots younger than this: 26w, 90d, 12h.")],
    db: DbOpt = None,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Delete snapshots older than --keep (never the newest complete one)."""
    from costscope.store.retention import prune as prune_store
    from costscope.yaml_nodes import parse_duration

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        seconds = parse_duration(keep)
        if seconds is None or seconds <= 0:
            raise CostscopeError(f"--keep: expected a duration like 26w, 90d or 12h, got {keep!r}")
        with open_store(db, lock_timeout) as store:
            gone = prune_store(store, seconds)
        Console(no_color=no_color, highlight=False).print(
            f"deleted {len(gone)} snapshot(s)" + (f": {', '.join(map(str, gone))}" if gone else "")
        )
    except CostscopeError as exc:
        fail(exc, err)


@app.command()
def export(
    parquet: Annotated[Path, typer.Option("--parquet", help="Directory for hive-partitioned Parquet.")],
    db: DbOpt = None,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """Write every snapshot as Parquet (snapshot_date=…/source=…), for DuckDB, Spark, Trino, ClickHouse."""
    from costscope.store.export import export_parquet

    err = Console(stderr=True, no_color=no_color, highlight=False)
    try:
        with open_store(db, lock_timeout, read_only=True) as store:
            written = export_parquet(store, parquet)
        rows = ", ".join(f"{t} {n:,}" for t, n in written.items())
        Console(no_color=no_color, highlight=False).print(f"wrote {parquet}: {rows}")
    except CostscopeError as exc:
        fail(exc, err)


@app.command()
def snapshots(
    db: DbOpt = None,
    no_color: NoColorOpt = False,
    lock_timeout: LockOpt = 10.0,
) -> None:
    """List the snapshots in the database, newest first, with their status and errors."""
    from rich.table import Table

    err = Console(stderr=True, no_color=no_color)
    try:
        with open_store(db, lock_timeout, read_only=True) as store:
            df = store.snapshots()
        table = Table()
        for col in ("id", "started", "status", "errors", "version", "note"):
            table.add_column(col)
        for r in df.iter_rows(named=True):
            table.add_row(
                str(r["id"]),
                str(r["started_at"])[:19],
                r["status"],
                str(r["error_count"]),
                r["costscope_version"],
                escape(r["note"] or ""),
            )
        Console(no_color=no_color).print(table)
    except CostscopeError as exc:
        fail(exc, err)
