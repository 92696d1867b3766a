"""costscope against the real servers Debian ships, on 127.0.0.1 (see tests/servers.py)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from costscope.cli import app
from costscope.store import Store
from tests import servers

pytestmark = pytest.mark.servers


def synthetic_exposition(users: int, routes: int = 4) -> str:
    """A counter exploded by user_id: users × routes series (the ground truth)."""
    lines = ["# HELP synthetic_requests_total Requests.", "# TYPE synthetic_requests_total counter"]
    for u in range(users):
        for r in range(routes):
            lines.append(f'synthetic_requests_total{{user_id="u{u:05d}",route="/r{r}"}} {u + r}')
    return "\n".join(lines) + "\n"


def _scrape(runner: CliRunner, url: str, db: Path) -> None:
    result = runner.invoke(app, ["scrape", url, "--db", str(db)])
    assert result.exit_code == 0, result.output


def _series(db: Path, family: str) -> int:
    with Store.open(db, read_only=True) as s:
        df = s.query("SELECT series FROM metric_meta WHERE metric = ?", [family])
        return int(df["series"].sum())


def test_scrape_real_node_exporter(node_exporter: servers.Server, runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    _scrape(runner, node_exporter.url + "/metrics", db)
    assert _series(db, "node_cpu_seconds_total") >= 1
    with Store.open(db, read_only=True) as s:
        jobs = s.query("SELECT DISTINCT value FROM series_labels WHERE label = 'job'")["value"].to_list()
        assert jobs == [node_exporter.url.removeprefix("http://")]
        types = dict(s.query("SELECT metric, type FROM metric_meta").iter_rows())
        assert types["node_cpu_seconds_total"] == "counter"


def test_pushgateway_groups_are_analyzed_exactly(
    pushgateway: servers.Server, runner: CliRunner, tmp_path: Path
) -> None:
    body = synthetic_exposition(users=250, routes=2)
    r = httpx.put(pushgateway.url + "/metrics/job/batch/instance/worker-1", content=body.encode())
    assert r.status_code == 200
    db = tmp_path / "p.duckdb"
    result = runner.invoke(
        app,
        [
            "analyze",
            pushgateway.url + "/metrics",
            "--db",
            str(db),
            "--report",
            str(tmp_path / "r.html"),
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert _series(db, "synthetic_requests_total") == 500
    import json

    drops = json.loads((tmp_path / "r.json").read_text())["label_drops"]
    by_label = {d["label"]: d for d in drops if d["metric"] == "synthetic_requests_total"}
    assert by_label["user_id"]["series_after"] == 2
    assert by_label["route"]["series_after"] == 250


def test_prometheus_scrapes_a_served_exposition_and_backfilled_history(
    tmp_path: Path, runner: CliRunner
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "metrics").write_text(synthetic_exposition(users=1000))
    # history: 3 points an hour apart, 3 days ago, written as TSDB blocks by promtool
    history = tmp_path / "history.om"
    start = int(time.time()) - 3 * 86400
    lines = ["# TYPE old_metric gauge"]
    for i in range(50):
        for t in range(3):
            lines.append(f'old_metric{{shard="{i}"}} {t} {start + t * 3600}')
    history.write_text("\n".join(lines) + "\n# EOF\n")
    workdir = tmp_path / "prom"
    workdir.mkdir()
    (workdir / "data").mkdir()
    servers.promtool_backfill(history, workdir / "data")
    with (
        servers.served_files(served) as base,
        servers.prometheus(workdir, {"synthetic": [base.removeprefix("http://")]}) as prom,
    ):

        def head_count() -> bool:
            r = httpx.get(
                prom.url + "/api/v1/query", params={"query": "count(synthetic_requests_total)"}
            ).json()
            res = r["data"]["result"]
            return bool(res) and res[0]["value"][1] == "4000"

        servers.wait_for(head_count, timeout=60)
        old = httpx.get(
            prom.url + "/api/v1/series",
            params={"match[]": "old_metric", "start": start - 60, "end": start + 4 * 3600},
        ).json()
        assert len(old["data"]) == 50
        # costscope reads the same served file and Prometheus' own /metrics
        db = tmp_path / "c.duckdb"
        _scrape(runner, base + "/metrics", db)
        assert _series(db, "synthetic_requests_total") == 4000
        db2 = tmp_path / "own.duckdb"
        _scrape(runner, prom.url + "/metrics", db2)
        assert _series(db2, "prometheus_tsdb_head_series") == 1


def test_victoria_metrics_import_and_its_own_metrics(
    victoria_metrics: servers.Server, runner: CliRunner, tmp_path: Path
) -> None:
    servers.vm_import(victoria_metrics, synthetic_exposition(users=300))
    r = httpx.get(victoria_metrics.url + "/api/v1/series", params={"match[]": "synthetic_requests_total"})
    assert len(r.json()["data"]) == 1200
    build = httpx.get(victoria_metrics.url + "/api/v1/status/buildinfo")
    assert build.status_code in (200, 404)  # Debian's VictoriaMetrics reports an empty version
    db = tmp_path / "vm.duckdb"
    _scrape(runner, victoria_metrics.url + "/metrics", db)
    assert _series(db, "vm_rows") >= 1 or _series(db, "vm_http_requests_total") >= 1
