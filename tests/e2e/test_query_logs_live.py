"""Usage from what was queried: a real Prometheus 2.42's query log, a real VictoriaMetrics' top queries."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

import costscope
from costscope.store import Store
from tests import servers

pytestmark = pytest.mark.servers


def _exposition() -> str:
    lines = ["# TYPE app_requests_total counter"]
    for route in ("/a", "/b", "/c"):
        for user in range(50):
            lines.append(f'app_requests_total{{route="{route}",user_id="u{user}",status="200"}} 1')
    lines.append("# TYPE app_queue_depth gauge")
    lines += [f'app_queue_depth{{queue="q{i}"}} {i}' for i in range(5)]
    lines.append("# TYPE app_unused_total counter")
    lines += [f'app_unused_total{{x="{i}"}} 1' for i in range(10)]
    return "\n".join(lines) + "\n"


# (query, how many times it is run); ghost_metric_total exists nowhere
QUERIES = [
    ("sum by (route) (rate(app_requests_total[1m]))", 3),
    ("max by (queue) (app_queue_depth)", 2),
    ("sum(ghost_metric_total)", 1),
]


def _row(ws: costscope.Workspace, metric: str) -> dict[str, object]:
    return ws.usage().filter(pl.col("metric") == metric).row(0, named=True)


def test_a_real_prometheus_query_log_guards_what_was_queried(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "metrics").write_text(_exposition())
    workdir = tmp_path / "prom"
    workdir.mkdir()
    log = tmp_path / "query.log"
    with (
        servers.served_files(served) as base,
        servers.prometheus(workdir, {"app": [base.removeprefix("http://")]}, query_log_file=log) as prom,
    ):
        servers.wait_for(lambda: servers.prom_count(prom.url, "app_requests_total") == 150, timeout=60)
        log.write_text("")  # what the wait above queried is not the users' reading
        started = time.time()
        for query, times in QUERIES[:1] + QUERIES[2:]:
            for _ in range(times):
                httpx.get(prom.url + "/api/v1/query", params={"query": query}, timeout=10).raise_for_status()
        query, times = QUERIES[1]
        httpx.get(
            prom.url + "/api/v1/query_range",
            params={"query": query, "start": started - 300, "end": started, "step": 15},
            timeout=10,
        ).raise_for_status()
        promtool = servers.require_binary("promtool")
        subprocess.run(
            [promtool, "query", "instant", prom.url, query], check=True, capture_output=True, timeout=30
        )
        servers.wait_for(lambda: len(log.read_text().splitlines()) >= 6, timeout=10)
        taken = tmp_path / "logs" / "query.log"
        taken.parent.mkdir()
        shutil.copy(log, taken)  # the log as it was, before costscope's own reading adds to it
        ws = costscope.analyze([prom.url, str(taken)], db=tmp_path / "c.duckdb")
    requests = _row(ws, "app_requests_total")
    assert (requests["queries"], requests["query_runs"], requests["queriers"]) == (1, 3, 1)
    assert "route" in requests["labels_needed"] and "user_id" in requests["labels_unused"]
    queue = _row(ws, "app_queue_depth")
    assert (queue["queries"], queue["query_runs"]) == (1, 2)  # once over HTTP, once by promtool
    assert queue["labels_needed"] == ["queue"]
    assert queue["last_queried_at"] is not None and queue["last_queried_at"] >= started - 1
    assert _row(ws, "app_unused_total")["status"] == "unused"
    analysis = ws.analysis()
    assert analysis.usage.not_ingested()["metric"].to_list() == ["ghost_metric_total"]
    summary = analysis.usage.summary()
    assert (summary["queries"], summary["query_runs"]) == (3, 6)
    assert summary["query_window_days"] is not None and summary["query_window_days"] < 1
    risk, level = analysis.usage.guard("app_requests_total", ["route"], "")
    assert level == "query" and "read 3 times by 1 querier" in risk and "in query logs of" in risk
    drop = ws.recommendations().filter(
        (pl.col("kind") == "drop_metric") & (pl.col("target") == "app_unused_total")
    )
    assert drop.height == 1 and drop["risk_level"][0] == "none" and "in query logs of" in drop["risk"][0]


def test_victoriametrics_top_queries_read_live(tmp_path: Path) -> None:
    with servers.victoria_metrics(
        tmp_path, ["-search.queryStats.minQueryDuration=0s", "-search.latencyOffset=0s"]
    ) as vm:
        servers.vm_import(vm, _exposition())
        servers.wait_for(lambda: servers.prom_count(vm.url, "app_queue_depth") == 5, timeout=30)
        for query, times in QUERIES:
            for _ in range(times):
                httpx.get(vm.url + "/api/v1/query", params={"query": query}, timeout=10).raise_for_status()
        config = tmp_path / "costscope.yaml"
        # the queries first: what costscope itself asks later must not count as anyone's reading
        config.write_text(
            f"sources:\n  - {{name: vm-queries, kind: queries, url: '{vm.url}'}}\n"
            f"  - {{name: vm, kind: victoriametrics, url: '{vm.url}'}}\n"
        )
        ws = costscope.analyze([], db=tmp_path / "c.duckdb", config=config)
    requests = _row(ws, "app_requests_total")
    assert (requests["queries"], requests["query_runs"]) == (1, 3)
    assert "route" in requests["labels_needed"]
    with Store.open(tmp_path / "c.duckdb", read_only=True) as store:
        runs = dict(
            store.query("SELECT DISTINCT name, uses FROM usage_refs WHERE kind = 'query'").iter_rows()
        )
    # exactly what was run; the wait above ran count(app_queue_depth), and VictoriaMetrics counted it too
    assert {q: runs[q] for q, _ in QUERIES} == dict(QUERIES)
    assert runs["count(app_queue_depth)"] >= 1
    assert ws.analysis().usage.not_ingested()["metric"].to_list() == ["ghost_metric_total"]
    sources = ws.analysis().sources
    assert sources.filter(pl.col("source") == "vm-queries")["status"][0] == "complete"
