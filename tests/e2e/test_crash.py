"""kill -9 of the real CLI at random points of a large collection, analysis and report: nothing lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from costscope.store import Store
from tests.conftest import ROOT, SAMPLE_DATA


def _big_exposition(path: Path, series: int) -> Path:
    with path.open("w") as fh:
        fh.write("# TYPE big_requests_total counter\n")
        for i in range(series):
            fh.write(f'big_requests_total{{user="u{i}",route="/r{i % 50}",pod="p{i % 97}"}} {i}\n')
    return path


def _state(db: Path) -> tuple[dict[int, str], str]:
    with Store.open(db) as store:  # opening marks a leftover running snapshot failed
        snaps = dict(store.snapshots().select("id", "status").iter_rows())
        rows = store.query(
            "SELECT family, count(*) AS n, sum(series_id % 1000003) AS h FROM metric_series"
            " WHERE snapshot_id = 1 GROUP BY family ORDER BY family"
        )
    return snaps, rows.write_csv()


@pytest.mark.slow
def test_kill_9_at_random_points_never_damages_earlier_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "db"
    data = tmp_path / "data"
    data.mkdir()
    _big_exposition(data / "big.prom", 150_000)
    argv = [
        sys.executable,
        "-m",
        "costscope",
        "analyze",
        "--db",
        str(db),
        "-q",
        "--report",
        str(tmp_path / "r.html"),
    ]
    started = time.monotonic()
    subprocess.run([*argv, str(SAMPLE_DATA)], check=True, cwd=ROOT, capture_output=True)
    baseline_s = time.monotonic() - started
    snaps, earlier = _state(db)
    assert snaps == {1: "complete"}
    rng = random.Random(20261125)
    outcomes = []
    for _ in range(8):
        with subprocess.Popen(
            [*argv, str(data)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ) as proc:
            time.sleep(rng.uniform(0.2, baseline_s * 1.5))  # during start-up, collection, analysis or report
            os.kill(proc.pid, signal.SIGKILL)
        snaps, rows = _state(db)
        assert snaps[1] == "complete" and rows == earlier  # the earlier snapshot, row for row
        assert "running" not in snaps.values()  # an interrupted run is marked failed on the next start
        outcomes.append(max(snaps.items())[1])
    assert "failed" in outcomes  # some kills did land mid-run
