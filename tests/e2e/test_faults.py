"""Faults injected between costscope and a real Prometheus: retries, partial snapshots, nothing lost."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.cli import app
from costscope.store import Store
from tests import servers
from tests.faults import Fault, fault_proxy

METRICS = 12


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus scraping an exposition of 12 metrics × 20 series."""
    tmp = tmp_path_factory.mktemp("faults")
    served = tmp / "served"
    served.mkdir()
    lines = []
    for m in range(METRICS):
        lines.append(f"# TYPE app_metric_{m:02d} gauge")
        lines += [f'app_metric_{m:02d}{{pod="p{i}"}} {i}' for i in range(20)]
    (served / "metrics").write_text("\n".join(lines) + "\n")
    with (
        servers.served_files(served) as base,
        servers.prometheus(tmp, {"app": [base.removeprefix("http://")]}) as prom,
    ):
        servers.wait_for(
            lambda: servers.prom_count(prom.url, '{__name__=~"app_metric_.*"}') == METRICS * 20, timeout=60
        )
        yield prom.url


def _run(tmp_path: Path, url: str, db: Path, extra: str = "") -> tuple[int, str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"sources:\n  - {{name: prom, url: '{url}', retries: 2, timeout: 2s, concurrency: 2{extra}}}\n"
    )
    result = CliRunner().invoke(app, ["analyze", "--config", str(cfg), "--db", str(db), "-q", "--no-color"])
    return result.exit_code, " ".join(result.output.split())


def _digest(db: Path, snapshot_id: int) -> str:
    """A hash of every row a snapshot holds, table by table."""
    h = hashlib.sha256()
    with Store.open(db, read_only=True) as store:
        for table in ("metric_series", "series_labels", "metric_meta", "recommendations", "snapshot_costs"):
            rows = store.query(
                f"SELECT * EXCLUDE (snapshot_id) FROM {table} WHERE snapshot_id = ? ORDER BY ALL",
                [snapshot_id],
            )
            h.update(rows.write_json().encode())  # JSON: some columns hold lists
        h.update(
            str(
                store.query("SELECT status, finished_at FROM snapshots WHERE id = ?", [snapshot_id]).rows()
            ).encode()
        )
    return h.hexdigest()


def _series(db: Path, snapshot_id: int) -> int:
    with Store.open(db, read_only=True) as store:
        return int(
            store.query(
                "SELECT count(*) AS n FROM metric_series WHERE snapshot_id = ? AND family LIKE 'app_metric_%'",
                [snapshot_id],
            )["n"][0]
        )


@pytest.mark.servers
@pytest.mark.parametrize(
    "fault",
    [
        Fault("app_metric_03", "status", status=429, retry_after="1"),
        Fault("app_metric_04", "status", status=503, times=2),
        Fault("app_metric_05", "reset"),
        Fault("app_metric_06", "truncate"),
        Fault("app_metric_07", "delay", seconds=3.0),  # beyond the 2 s timeout once
    ],
    ids=["429-retry-after", "503-twice", "connection-reset", "truncated-body", "timeout"],
)
def test_transient_faults_are_retried_and_the_snapshot_is_complete(
    prometheus: str, tmp_path: Path, fault: Fault
) -> None:
    db = tmp_path / "db"
    with fault_proxy(prometheus, [fault]) as (url, proxy):
        code, output = _run(tmp_path, url, db)
    assert code == 0, output
    assert _series(db, 1) == METRICS * 20
    hits = [t for t, p in proxy.requests if fault.path in p]
    assert len(hits) == fault.times + 1  # each fault retried, then answered
    if fault.retry_after:
        assert hits[1] - hits[0] >= 1.0  # Retry-After honoured


@pytest.mark.servers
def test_a_metric_that_keeps_failing_leaves_a_partial_snapshot_and_earlier_ones_intact(
    prometheus: str, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    code, _ = _run(tmp_path, prometheus, db)
    assert code == 0
    before = _digest(db, 1)
    with fault_proxy(prometheus, [Fault("app_metric_08", "status", status=500, times=-1)]) as (url, _proxy):
        code, output = _run(tmp_path, url, db)
    assert code == 3 and "app_metric_08" in output and "HTTP 500" in output and "after 3 attempts" in output
    with Store.open(db, read_only=True) as store:
        assert store.snapshots()["status"].to_list() == ["partial", "complete"]
    assert _series(db, 2) == (METRICS - 1) * 20  # the rest was kept
    assert _digest(db, 1) == before  # byte for byte


@pytest.mark.servers
def test_the_server_never_sees_more_than_the_configured_concurrency(prometheus: str, tmp_path: Path) -> None:
    db = tmp_path / "db"
    delays = [Fault("app_metric", "delay", seconds=0.2, times=-1)]
    with fault_proxy(prometheus, delays) as (url, proxy):
        code, output = _run(tmp_path, url, db)
    assert code == 0, output
    assert 1 <= proxy.max_in_flight <= 2
