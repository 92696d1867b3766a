"""The Prometheus API source against the real Prometheus 2.42 and VictoriaMetrics from Debian."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from costscope.cli import app
from costscope.store import Store
from tests import servers
from tests.synthetic import PER_METRIC, fleet_lines, ground_truth, write_fleet

pytestmark = pytest.mark.servers
FLEET = 200_000


def _series_by_metric(db: Path, source: str) -> dict[str, int]:
    with Store.open(db, read_only=True) as s:
        return dict(s.query("SELECT metric, series FROM metric_meta WHERE source = ?", [source]).iter_rows())


def test_real_prometheus_scraping_node_exporter_and_200k_synthetic_series(
    tmp_path: Path, runner: CliRunner
) -> None:
    served = tmp_path / "served"
    write_fleet(served / "metrics", FLEET)
    workdir = tmp_path / "prom"
    workdir.mkdir()
    with (
        servers.node_exporter(tmp_path) as node,
        servers.served_files(served) as base,
        servers.prometheus(
            workdir,
            {"fleet": [base.removeprefix("http://")], "node": [node.url.removeprefix("http://")]},
            scrape_interval="5s",
        ) as prom,
    ):

        def scraped() -> bool:
            r = httpx.get(prom.url + "/api/v1/query", params={"query": 'count({job="fleet"})'}).json()
            res = r["data"]["result"]
            return bool(res) and int(res[0]["value"][1]) >= FLEET

        servers.wait_for(scraped, timeout=120, interval=1)
        db = tmp_path / "c.duckdb"
        result = runner.invoke(app, ["scrape", prom.url, "--db", str(db)])
        assert result.exit_code == 0, result.output
        got = _series_by_metric(db, prom.url.removeprefix("http://"))
        for metric, n in ground_truth(FLEET).items():
            assert got[metric] == n, metric
        assert got["node_cpu_seconds_total"] >= 1 and got["up"] == 2
        with Store.open(db, read_only=True) as s:
            src = s.snapshot_sources(1).row(0, named=True)
            assert (src["flavour"], src["status"]) == ("prometheus", "complete")
            assert src["version"].startswith("2.42.0")  # Debian reports 2.42.0+ds
            stats = dict(s.query("SELECT job, samples_scraped FROM scrape_stats").iter_rows())
            assert stats["fleet"] == FLEET and stats["node"] > 100
            types = dict(s.query("SELECT metric, type FROM metric_meta").iter_rows())
            assert types["app_requests_000_total"] == "counter"
            # exact label economics on what the server holds: without user_id, 500 paths x 97 pods remain
            labels = s.query(
                "SELECT count(DISTINCT value) AS n FROM series_labels JOIN metric_series USING (snapshot_id,"
                " source, series_id) WHERE metric = 'app_requests_000_total' AND label = 'user_id'"
            )["n"][0]
            assert labels == PER_METRIC


def test_real_victoria_metrics_over_its_series_limit_is_split_exactly(
    victoria_metrics: servers.Server, runner: CliRunner, tmp_path: Path
) -> None:
    lines = list(fleet_lines(40_000))  # 4 metrics of 10k series ...
    wide = [f'wide_metric{{shard="{i % 7}",id="{i}"}} 1' for i in range(35_000)]  # ... and one over 30k
    servers.vm_import(victoria_metrics, "\n".join(lines + wide) + "\n")
    db = tmp_path / "vm.duckdb"
    name = victoria_metrics.url.removeprefix("http://")
    result = runner.invoke(
        app, ["scrape", victoria_metrics.url, "--db", str(db), "--record", str(tmp_path / "rec")]
    )
    assert result.exit_code == 0, result.output
    got = _series_by_metric(db, name)
    assert got["wide_metric"] == 35_000
    for metric, n in ground_truth(40_000).items():
        assert got[metric] == n
    with Store.open(db, read_only=True) as s:
        assert s.snapshot_sources(1)["flavour"][0] == "victoriametrics"
    # the recording replays offline to the same snapshot, through the same parser
    replay = tmp_path / "replay.duckdb"
    result = runner.invoke(app, ["scrape", str(tmp_path / "rec" / name), "--db", str(replay)])
    assert result.exit_code == 0, result.output
    assert _series_by_metric(replay, name) == got
