"""Real exporters' dumps that promtool refuses and Prometheus scrapes, counted as Prometheus stores them.

Four of the Datadog integration fixtures under ../shared/fixtures/realworld/metrics/ddextras say a
family's HELP or TYPE twice, or a TYPE after its samples. Debian's Prometheus 2.42 scrapes each
one served over loopback (up, no scrape error), and its own count of the series it stored is the
oracle for costscope reading the same files.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import costscope
from tests import servers
from tests.conftest import shared

pytestmark = pytest.mark.servers
SPLIT = ("gatekeeper_controller", "redis_enterprise", "resilience4j", "upbound_uxp")


def _stored(url: str) -> dict[str, int]:
    query = 'count by (job) ({__name__=~".+", __name__!~"up|scrape_.*"})'
    res = httpx.get(url + "/api/v1/query", params={"query": query}, timeout=30).json()["data"]["result"]
    return {r["metric"]["job"]: int(r["value"][1]) for r in res}


def test_files_prometheus_scrapes_despite_promtool_are_counted_as_it_stores_them(tmp_path: Path) -> None:
    folder = shared("realworld", "metrics", "ddextras")
    workdir = tmp_path / "prom"
    workdir.mkdir()
    with servers.served_files(folder) as base:
        jobs = [
            {"job_name": name, "metrics_path": f"/{name}.prom", "static_configs": [{"targets": [base[7:]]}]}
            for name in SPLIT
        ]
        with servers.prometheus(workdir, extra_config={"scrape_configs": jobs}) as prom:
            servers.wait_for(lambda: len(_stored(prom.url)) == len(SPLIT), timeout=60)
            targets = httpx.get(prom.url + "/api/v1/targets", timeout=30).json()["data"]["activeTargets"]
            stored = _stored(prom.url)
    assert {t["labels"]["job"]: (t["health"], t["lastError"]) for t in targets} == {
        name: ("up", "") for name in SPLIT
    }
    analysis = costscope.analyze(
        [str(folder / f"{name}.prom") for name in SPLIT], db=tmp_path / "db"
    ).analysis()
    counted = dict(analysis.sources.select("source", "series").iter_rows())
    assert counted == {f"{name}.prom": stored[name] for name in SPLIT}
    warnings = analysis.errors.filter(analysis.errors["severity"] == "warning")
    assert warnings.height == len(SPLIT)
    assert all("promtool check metrics refuses it" in m for m in warnings["message"])
