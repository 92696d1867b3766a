"""The store: migrations, the snapshot life cycle, crash safety and one writer at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from costscope.errors import StoreError
from costscope.ingest import metrics
from costscope.ingest.metrics import MetricsWriter
from costscope.store import SCHEMA_VERSION, SourceErrorRecord, SourceInfo, SourceResult, Store

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(store: Store, series: int, status: str = "complete") -> int:
    snap = store.begin("run", [SourceInfo("s", "exposition", "x.prom")])
    with snap.transaction():
        w = MetricsWriter(snap, "s", batch_size=1000)
        for i in range(series):
            w.series("m", "m", [("id", str(i)), ("job", "j")])
        n = w.close()
        snap.add_source(SourceResult("s", "exposition", "x.prom", status, series=n))
        snap.finish(status, {"collect": 0.1})
    return snap.id


def test_new_database_is_migrated_to_the_current_version(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    assert store.snapshots().is_empty()


def test_the_family_key_migration_fills_the_rows_written_before_it(db_path: Path) -> None:
    with Store.open(db_path) as store:
        sid = _snapshot(store, 300)
        snap = store.begin("r", [SourceInfo("t", "exposition", "y.prom")])
        with snap.transaction():
            w = MetricsWriter(snap, "t")
            w.series("other_total", "other", [("id", "1")])
            w.close()
            snap.finish("complete", {})
        written = store.query("SELECT source, series_id, family_id FROM series_labels ORDER BY ALL")
        # the database as version 10 left it: no family keys
        store.conn.execute("ALTER TABLE series_labels DROP COLUMN family_id")
        store.conn.execute("ALTER TABLE metric_series DROP COLUMN family_id")
        store.conn.execute("DELETE FROM schema_migrations WHERE version = 11")
    with Store.open(db_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        filled = store.query("SELECT source, series_id, family_id FROM series_labels ORDER BY ALL")
        assert filled.equals(written) and filled["family_id"].null_count() == 0
        keys = store.query("SELECT DISTINCT family, family_id FROM metric_series ORDER BY family")
        assert keys.height == 2 and keys["family_id"].n_unique() == 2
        per_snapshot = store.query("SELECT DISTINCT snapshot_id FROM series_labels ORDER BY 1")
        assert per_snapshot["snapshot_id"].to_list() == [sid, snap.id]


def test_snapshot_life_cycle_and_reads_as_polars(store: Store) -> None:
    sid = _snapshot(store, 2500)
    snaps = store.snapshots()
    assert isinstance(snaps, pl.DataFrame)
    row = snaps.row(0, named=True)
    assert (row["id"], row["status"], row["error_count"]) == (sid, "complete", 0)
    assert store.query("SELECT count(*) AS n FROM metric_series WHERE snapshot_id = ?", [sid])["n"][0] == 2500
    meta = store.query("SELECT series FROM metric_meta WHERE snapshot_id = ?", [sid])
    assert meta["series"].to_list() == [2500]


def test_series_id_is_stable_and_order_independent(store: Store) -> None:
    snap = store.begin("r", [])
    with snap.transaction():
        w = MetricsWriter(snap, "s")
        w.series("m", "m", [("a", "1"), ("b", "2")])
        w.series("m", "m", [("b", "2"), ("a", "1")])
        w.close()
        snap.finish("complete", {})
    ids = store.query("SELECT DISTINCT series_id FROM metric_series")
    assert ids.height == 1


def test_an_exception_mid_write_keeps_nothing_and_marks_failed(store: Store) -> None:
    good = _snapshot(store, 10)
    snap = store.begin("r2", [])
    with pytest.raises(RuntimeError), snap.transaction():
        MetricsWriter(snap, "s", batch_size=5).series("m", "m", [("a", "1")])
        raise RuntimeError("boom")
    statuses = dict(store.snapshots().select("id", "status").iter_rows())
    assert statuses == {good: "complete", snap.id: "failed"}
    assert (
        store.query("SELECT count(*) AS n FROM metric_series WHERE snapshot_id = ?", [snap.id])["n"][0] == 0
    )


@pytest.fixture
def small_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows appended and committed along the way every 100, so a small snapshot commits several times."""
    monkeypatch.setattr(metrics, "APPEND_ROWS", 100)
    monkeypatch.setattr(metrics, "COMMIT_ROWS", 100)


@pytest.mark.usefixtures("small_commits")
def test_rows_committed_along_the_way_go_when_the_run_fails(store: Store) -> None:
    good = _snapshot(store, 10)
    snap = store.begin("r2", [])
    with pytest.raises(RuntimeError), snap.transaction():
        w = MetricsWriter(snap, "s", batch_size=50)
        for i in range(1000):
            w.series("m", "m", [("a", str(i))])
        assert snap._committed  # rows were made durable before the failure
        raise RuntimeError("boom")
    assert dict(store.snapshots().select("id", "status").iter_rows()) == {good: "complete", snap.id: "failed"}
    for table in ("metric_series", "series_labels"):
        n = store.query(f"SELECT count(*) AS n FROM {table} WHERE snapshot_id = ?", [snap.id])["n"][0]
        assert n == 0, table


@pytest.mark.usefixtures("small_commits")
def test_a_snapshot_committed_along_the_way_is_whole_when_it_completes(store: Store) -> None:
    sid = _snapshot(store, 2500)
    assert store.query("SELECT count(*) AS n FROM series_labels WHERE snapshot_id = ?", [sid])["n"][0] == 5000
    assert store.query("SELECT series FROM metric_meta WHERE snapshot_id = ?", [sid])["series"].to_list() == [
        2500
    ]


def test_errors_are_kept_with_the_snapshot(store: Store) -> None:
    snap = store.begin("r", [])
    with snap.transaction():
        snap.add_error(SourceErrorRecord("prom", "http://x", "collect", "HTTP 503"))
        snap.finish("partial", {})
    assert store.snapshots()["error_count"][0] == 1
    assert store.source_errors(snap.id)["message"].to_list() == ["HTTP 503"]


def test_a_file_from_a_newer_costscope_is_refused(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', now())")
    with pytest.raises(StoreError, match="newer than this costscope"):
        Store.open(db_path)


def test_a_foreign_duckdb_file_is_refused(db_path: Path) -> None:
    conn = duckdb.connect(str(db_path))
    conn.execute("CREATE TABLE other (x INT)")
    conn.close()
    with pytest.raises(StoreError, match="not a costscope database"):
        Store.open(db_path)


def test_a_file_that_is_not_duckdb_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        Store.open(bad)


def test_read_only_open_of_a_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `costscope analyze` first"):
        Store.open(tmp_path / "none.duckdb", read_only=True)


_WRITER = """
import sys, time
from costscope.store import Store, SourceInfo
from costscope.ingest import metrics
from costscope.ingest.metrics import MetricsWriter
# argv[2]: rows between the commits a large collection makes along the way
metrics.APPEND_ROWS = metrics.COMMIT_ROWS = int(sys.argv[2])
store = Store.open(sys.argv[1])
snap = store.begin("victim", [SourceInfo("s", "exposition", "big.prom")])
with snap.transaction():
    w = MetricsWriter(snap, "s", batch_size=2000)
    print("writing", flush=True)
    i = 0
    while True:
        w.series("m", "m", [("id", str(i)), ("job", "j")])
        i += 1
"""


@pytest.mark.parametrize(
    ("delay", "commit_rows"),
    [(0.3, 500_000), (0.8, 500_000), (1.5, 500_000), (2.5, 500_000), (1.0, 3000), (2.5, 3000)],
)
def test_kill_9_mid_snapshot_leaves_earlier_snapshots_intact(
    db_path: Path, delay: float, commit_rows: int
) -> None:
    with Store.open(db_path) as s:
        earlier = _snapshot(s, 3000)
    before = db_path.stat().st_size
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db_path), str(commit_rows)], stdout=subprocess.PIPE, cwd=ROOT
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"writing"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    assert before > 0
    with Store.open(db_path) as s:
        snaps = dict(s.snapshots().select("id", "status").iter_rows())
        assert snaps[earlier] == "complete"
        assert [v for k, v in snaps.items() if k != earlier] == ["failed"]
        n = s.query("SELECT count(*) AS n FROM metric_series WHERE snapshot_id = ?", [earlier])["n"][0]
        assert n == 3000
        rest = s.query("SELECT count(*) AS n FROM metric_series WHERE snapshot_id <> ?", [earlier])["n"][0]
        assert rest == 0  # the interrupted snapshot kept nothing half-written


_HOLDER = """
import sys, time
from costscope.store import Store
store = Store.open(sys.argv[1])
print("open", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_second_process_waits_then_fails_clearly(db_path: Path) -> None:
    Store.open(db_path).close()
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db_path), "30"], stdout=subprocess.PIPE, cwd=ROOT
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"open"
            started = time.monotonic()
            with pytest.raises(StoreError, match=rf"in use by another process \(pid {proc.pid}\)"):
                Store.open(db_path, lock_timeout=1.0)
            assert time.monotonic() - started >= 1.0
        finally:
            proc.kill()


def test_a_second_process_gets_the_database_once_the_first_is_done(db_path: Path) -> None:
    Store.open(db_path).close()
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db_path), "1"], stdout=subprocess.PIPE, cwd=ROOT
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"open"
        with Store.open(db_path, lock_timeout=20.0) as s:
            assert s.schema_version() == SCHEMA_VERSION


def test_a_series_listed_in_two_batches_is_stored_once(store: Store) -> None:
    snap = store.begin("r", [])
    with snap.transaction():
        w = MetricsWriter(snap, "s", batch_size=2)
        for _ in range(3):  # three batches, the same two series each time
            w.series("m", "m", [("a", "1")])
            w.series("m", "m", [("a", "2")])
        assert w.close() == 2
        snap.finish("complete", {})
    assert store.query("SELECT count(*) AS n FROM metric_series")["n"][0] == 2
    assert store.query("SELECT count(*) AS n FROM series_labels")["n"][0] == 2
