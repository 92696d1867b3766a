"""The plan proven on real servers: what a vendor bills is what reaches it.

A real Prometheus 2.42 scrapes the demo company (every target served over loopback) with the
demo's alerts and recording rule loaded, and ``remote_write``\\ s to a real VictoriaMetrics standing
in for the paid backend. costscope reads that backend with the demo's dashboards, rules, SLO and
query log, and plans every action that breaks nothing. ``DIR/prometheus/`` is applied to the
Prometheus (``promtool check`` first), which now writes to a second, empty VictoriaMetrics: the
series it holds equal ``plan.json``'s prediction exactly, per job, and every expression the
readers run that answered before still answers after.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest
import yaml

from costscope.config import Config, SourceConfig
from costscope.recommend.plan_prometheus import RULES_FILE
from costscope.report.plan import plan_files
from costscope.run import run_plan
from costscope.store import Store
from scripts.generate_sample_data import fleet
from tests import servers
from tests.conftest import ROOT

pytestmark = pytest.mark.servers

SAMPLE = ROOT / "sample_data"
INTERVAL = "2s"


def _by_job(url: str) -> dict[str, int]:
    """Series per job the backend has been written (``(no job)`` for series without one), from its
    own name index and series API, name by name: what a vendor bills, whether or not a sample is
    still in flight. (One selector over every name missed the recorded series in some runs here.)"""
    start = str(int(time.time()) - 3600)
    names = httpx.get(url + "/api/v1/label/__name__/values", params={"start": start}, timeout=60).json()[
        "data"
    ]
    out: dict[str, int] = {}
    for name in names:
        params = {"match[]": f'{{__name__="{name}"}}', "start": start}
        for labels in httpx.get(url + "/api/v1/series", params=params, timeout=60).json()["data"]:
            job = labels.get("job") or "(no job)"
            out[job] = out.get(job, 0) + 1
    return out


def _answers(url: str, expr: str) -> bool:
    """Whether ``expr`` (Grafana variables filled in) returns anything on the backend."""
    expr = expr.replace("$__rate_interval", "1m")
    expr = re.sub(r"\$\{?\w+\}?", ".+", expr)
    body = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=30).json()
    assert body["status"] == "success", (expr, body)
    return bool(body["data"]["result"])


def _stable(url: str, seconds: float = 6.0, timeout: float = 90.0) -> dict[str, int]:
    """The backend's series per job once it has stopped changing for ``seconds``."""
    deadline = time.monotonic() + timeout
    last, since = _by_job(url), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _by_job(url)
        if now != last or not now:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return now
    pytest.fail(f"the backend kept changing for {timeout}s: {last}")


def _count(url: str, expr: str) -> int:
    res = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=30).json()["data"]["result"]
    return int(float(res[0]["value"][1])) if res else 0


def _recorded_all(url: str, timeout: float = 120.0) -> None:
    """Wait until the demo's recording rule has an output for every (job, route, status) of its
    input: a rate needs two scrapes of each series, and under load they come late."""
    raw = "count(count by (job, route, status) (http_requests_total))"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        want = _count(url, raw)
        if want and _count(url, "count(job_route_status:http_requests:rate5m)") == want:
            return
        time.sleep(1.0)
    pytest.fail(f"the recording rule did not cover its input within {timeout}s")


def _settled(url: str, expected: dict[str, int], hold: float = 6.0, timeout: float = 120.0) -> dict[str, int]:
    """The backend's series per job once it equals ``expected`` and stays so for ``hold`` seconds
    (nothing more arrives), or what it holds when ``timeout`` runs out. Under load the first
    evaluations of new recording rules and the remote-write queue's new series lag behind."""
    deadline = time.monotonic() + timeout
    since = None
    now = _by_job(url)
    while time.monotonic() < deadline:
        if now != expected:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= hold:
            return now
        time.sleep(1.0)
        now = _by_job(url)
    return now


@pytest.fixture
def served_fleet(tmp_path: Path) -> Iterator[list[dict[str, object]]]:
    """The demo company's targets served over loopback, as Prometheus scrape configs."""
    targets = tmp_path / "targets"
    jobs: dict[str, list[dict[str, object]]] = {}
    for job, instance, exp in fleet():
        path = targets / job / f"{instance}.prom"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(exp.text(), encoding="utf-8")
        jobs.setdefault(job, []).append(
            {"path": f"/{job}/{instance}.prom", "instance": f"{instance}.shop.svc:8080"}
        )
    with servers.served_files(targets) as url:
        address = url.removeprefix("http://").rstrip("/")
        yield [
            {
                "job_name": job,
                "static_configs": [
                    {
                        "targets": [address],
                        "labels": {"__metrics_path__": t["path"], "instance": t["instance"]},
                    }
                    for t in entries
                ],
            }
            for job, entries in jobs.items()
        ]


def test_the_plan_applied_to_prometheus_leaves_exactly_the_predicted_series_and_every_reader_answering(
    tmp_path: Path, served_fleet: list[dict[str, object]]
) -> None:
    promtool = servers.require_binary("promtool")
    before_dir, after_dir, prom_dir = (tmp_path / d for d in ("vm-before", "vm-after", "prometheus"))
    for d in (before_dir, after_dir, prom_dir):
        d.mkdir()
    rules = prom_dir / "shop.rules.yml"
    rules.write_text((SAMPLE / "rules" / "shop.rules.yml").read_text())
    flags = ["-search.latencyOffset=1s", "-search.maxSeries=1000000"]
    with (
        servers.victoria_metrics(before_dir, extra_args=flags) as before,
        servers.victoria_metrics(after_dir, extra_args=flags) as after,
    ):
        remote = {"url": before.url + "/api/v1/write", "queue_config": {"batch_send_deadline": "1s"}}
        config = {"scrape_configs": served_fleet, "remote_write": [remote]}
        with servers.prometheus(
            prom_dir, scrape_interval=INTERVAL, rule_files=[rules], extra_config=config
        ) as prom:
            _recorded_all(before.url)
            held_before = _stable(before.url, seconds=10.0)
            assert sum(held_before.values()) > 28_570  # the fleet, plus up/scrape_* and the recorded rule

            store = Store.open(tmp_path / "costscope.duckdb")
            backend = SourceConfig(name="backend", url=before.url, collect="series")
            usage = [str(SAMPLE / n) for n in ("dashboards", "rules", "queries")]
            run, plan = run_plan(store, usage, Config(sources=(backend,)))
            assert run.status == "complete", run.errors
            predicted = {r["job"]: r["series_after"] for r in plan.jobs.iter_rows(named=True)}
            before_plan = {r["job"]: r["series_before"] for r in plan.jobs.iter_rows(named=True)}
            assert before_plan == _by_job(before.url), held_before
            kinds = set(plan.actions["kind"])
            assert {"drop_metric", "keep_used_labels"} <= kinds  # the plan drops and aggregates
            assert plan.metrics.filter(pl.col("exact")).height == plan.metrics.height

            readers = store.query("SELECT DISTINCT expr FROM usage_refs WHERE kind != 'query'")[
                "expr"
            ].to_list()
            answered = {e for e in readers if _answers(before.url, e)}
            assert len(answered) >= 10

            # apply DIR/prometheus/ to the running Prometheus, now writing to the second backend
            current = (prom_dir / "prometheus.yml").read_text().replace(before.url, after.url)
            files, notes = plan_files(plan, prometheus_config=current)
            assert any("sums of counters" in n for n in notes)
            (prom_dir / RULES_FILE).write_text(files[f"prometheus/{RULES_FILE}"])
            (prom_dir / "prometheus.yml").write_text(files["prometheus/prometheus.yml"])
            for check in (["check", "config"], ["check", "rules"]):
                target = prom_dir / ("prometheus.yml" if check[1] == "config" else RULES_FILE)
                done = subprocess.run(
                    [promtool, *check, str(target)], capture_output=True, text=True, timeout=60
                )
                assert done.returncode == 0, done.stdout + done.stderr
            for relative, text in files.items():
                if relative.endswith((".yml", ".yaml")) and relative != "prometheus/prometheus.yml":
                    assert yaml.safe_load(text) is not None, relative
            httpx.post(prom.url + "/-/reload", timeout=30).raise_for_status()

            expected = {job: n for job, n in predicted.items() if n}
            assert _settled(after.url, expected) == expected
            # the aggregated metrics reach the backend under their own names, with fewer labels
            kept = plan.actions.filter(pl.col("kind") == "keep_used_labels")
            for row in kept.iter_rows(named=True):
                labels = httpx.get(
                    after.url + "/api/v1/labels",
                    params={"match[]": f'{{__name__=~"{row["metric"]}.*"}}'},
                    timeout=30,
                ).json()["data"]
                assert not set(row["labels"]) & set(labels), row["metric"]
            time.sleep(4)  # a rate() needs two samples of the recorded aggregates
            broken = [e for e in answered if not _answers(after.url, e)]
            assert broken == []
