"""Ingesting series stays within a stated memory bound (a regression fails here, not in production).

2,000,000 series from one exposition file, collected into a snapshot in a fresh process, whose
own peak RSS is the measure. The bound holds the ingest near what it is today (1.3 GiB on this
machine); the aim (issue: 10M series under 2 GiB) is lower still.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SERIES = 2_000_000
MAX_RSS_MIB = 1_700

_CHILD = """
import resource, sys
from pathlib import Path
from costscope.run import collect_snapshot
from costscope.store import Store
with Store.open(Path(sys.argv[2])) as store:
    run = collect_snapshot(store, [sys.argv[1]])
    series = int(store.snapshot_sources(run.snapshot_id)["series"].sum())
print(series, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_two_million_series_stay_under_the_memory_bound(tmp_path: Path) -> None:
    path = tmp_path / "big.prom"
    with path.open("w") as fh:
        fh.write("# TYPE big_requests_total counter\n")
        for i in range(SERIES):
            fh.write(f'big_requests_total{{user="u{i}",route="/r{i % 50}",pod="p{i % 97}"}} 1\n')
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(tmp_path / "db")],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout.split()  # fmt: skip
    series, rss_mib = int(out[0]), int(out[1])
    assert series == SERIES
    assert rss_mib <= MAX_RSS_MIB, f"peak RSS {rss_mib} MiB > {MAX_RSS_MIB} MiB"
