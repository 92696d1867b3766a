"""Backends' cardinality APIs in counts mode: a real VictoriaMetrics 1.79's ``/api/v1/status/tsdb``,
and Mimir's ``/api/v1/cardinality/label_values`` served over loopback in its documented shape (in
front of a real Prometheus that answers the PromQL), with its quirks: off by default (400), an
error in a 200 body, one tenant per call, and sums a replicated cluster inflates. Whatever the API
answers, the figures equal pulling every series; the API is used only where it agrees with PromQL.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from costscope.config import SourceConfig
from costscope.store import Store
from scripts.loopback import loopback
from tests import servers
from tests.counted_fleet import counted_fleet
from tests.e2e.test_counts_live import _assert_equal, _both, _prometheus_scraping

pytestmark = pytest.mark.servers
TENANT = "team-a"


def _mimir_double(prometheus: str, mode: str, seen: list[dict[str, str]]) -> type[BaseHTTPRequestHandler]:
    """Mimir's query API for one tenant: PromQL passed to ``prometheus``, the cardinality API computed
    from its series as Mimir documents it; ``mode``: ok | disabled | error_in_body | replicated | slow."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.headers.get("X-Scope-OrgID") != TENANT:
                self._send(401, b"no org id", "text/plain")
                return
            url = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(url.query)
            if url.path == "/api/v1/status/buildinfo":
                doc = {"status": "success", "data": {"application": "Grafana Mimir", "version": "2.14.0"}}
                self._send(200, json.dumps(doc).encode())
            elif url.path == "/api/v1/status/tsdb":
                self._send(404, b"404 page not found", "text/plain")
            elif url.path == "/api/v1/cardinality/label_values":
                seen.append({"tenant": self.headers["X-Scope-OrgID"], "selector": params["selector"][0]})
                if mode == "slow":  # as a single node scanning a large index answers: right, but late
                    time.sleep(2.5)
                self._cardinality(params)
            elif url.path == "/api/v1/cardinality/label_names":
                self._label_names(params)
            else:
                upstream = httpx.get(prometheus + url.path, params=params, timeout=30)
                self._send(upstream.status_code, upstream.content)

        def _series(self, selector: str) -> list[dict[str, str]]:
            params = {"match[]": selector, "start": time.time() - 3600}
            return list(httpx.get(prometheus + "/api/v1/series", params=params, timeout=30).json()["data"])

        def _label_names(self, params: dict[str, list[str]]) -> None:
            if mode == "disabled":
                self._send(400, b"cardinality analysis is disabled for the tenant: team-a", "text/plain")
                return
            values: dict[str, set[str]] = {}
            for labels in self._series(params["selector"][0]):
                for name, value in labels.items():
                    values.setdefault(name, set()).add(value)
            items = sorted(values.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: int(params["limit"][0])]
            doc = {
                "label_values_count_total": sum(len(v) for v in values.values()),
                "label_names_count": len(values),
                "cardinality": [{"label_name": k, "label_values_count": len(v)} for k, v in items],
            }
            self._send(200, json.dumps(doc).encode())

        def _cardinality(self, params: dict[str, list[str]]) -> None:
            if mode == "disabled":
                self._send(400, b"cardinality analysis is disabled for the tenant: team-a", "text/plain")
                return
            if mode == "error_in_body":
                self._send(200, json.dumps({"status": "error", "error": "ingesters unavailable"}).encode())
                return
            assert params["count_method"] == ["active"] and int(params["limit"][0]) <= 500
            series = self._series(params["selector"][0])
            factor = 3 if mode == "replicated" else 1
            labels = []
            for name in params["label_names[]"]:
                values = Counter(s[name] for s in series if s.get(name))
                top = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[: int(params["limit"][0])]
                labels.append(
                    {
                        "label_name": name,
                        "label_values_count": len(values),
                        "series_count": sum(values.values()) * factor,
                        "cardinality": [{"label_value": v, "series_count": n * factor} for v, n in top],
                    }
                )
            doc = {"series_count_total": len(series) * factor, "labels": labels}
            self._send(200, json.dumps(doc).encode())

    return Handler


def _reason(store: Store) -> str:
    return str(store.query("SELECT reason FROM count_runs WHERE source = 'tsdb'")["reason"][0])


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _prometheus_scraping(tmp_path_factory.mktemp("prom"), counted_fleet(scale=2), "1s") as url:
        servers.wait_for(lambda: servers.prom_count(url, "shop_requests_total") > 0, timeout=60)
        time.sleep(2)
        yield url


def test_mimir_cardinality_api_answers_labels_and_equals_pulling(prometheus_url: str, tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    with loopback(_mimir_double(prometheus_url, "ok", seen)) as url:
        series, counts, store = _both(url, tmp_path, headers=(("X-Scope-OrgID", TENANT),))
    _assert_equal(series, counts)
    assert "from Mimir /api/v1/cardinality/label_values, equal to PromQL on 3 checked" in _reason(store)
    families = {s["selector"] for s in seen}
    assert len(families) == len(seen) >= 4  # one call per metric
    assert {s["tenant"] for s in seen} == {TENANT}


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("disabled", "cardinality analysis is disabled for the tenant: team-a"),
        ("error_in_body", "ingesters unavailable"),
        ("replicated", "disagrees with PromQL over the window"),
        ("slow", "answers slower than PromQL here"),
    ],
)
def test_a_cardinality_api_that_cannot_be_trusted_leaves_promql_to_count(
    prometheus_url: str, tmp_path: Path, mode: str, said: str
) -> None:
    with loopback(_mimir_double(prometheus_url, mode, [])) as url:
        series, counts, store = _both(url, tmp_path, headers=(("X-Scope-OrgID", TENANT),))
    _assert_equal(series, counts)
    assert said in _reason(store) and "PromQL counted" in _reason(store)


def test_victoria_metrics_tsdb_status_answers_labels_with_fewer_queries(
    victoria_metrics: servers.Server, tmp_path: Path
) -> None:
    now = time.time()
    servers.vm_import(victoria_metrics, counted_fleet(scale=3, timestamp_ms=int((now - 120) * 1000)))
    series, counts, store = _both(victoria_metrics.url, tmp_path, lookback_s=600.0)
    _assert_equal(series, counts)
    day = time.gmtime(now).tm_yday
    if time.gmtime(now - 600).tm_yday != day or time.gmtime(time.time()).tm_yday != day:
        # the status counts one UTC day: a window across midnight is left to PromQL, and says so
        assert "the window crosses midnight UTC" in _reason(store)
        return
    assert "from VictoriaMetrics /api/v1/status/tsdb, equal to PromQL on 3 checked" in _reason(store)
    with_index = int(store.query("SELECT queries FROM count_runs WHERE source = 'tsdb'")["queries"][0])
    off = tmp_path / "off"
    off.mkdir()
    _, without, off_store = _both(victoria_metrics.url, off, cardinality_api=False, lookback_s=600.0)
    _assert_equal(series, without)
    assert "cardinality" not in _reason(off_store) and "tsdb" not in _reason(off_store)
    promql_only = int(off_store.query("SELECT queries FROM count_runs WHERE source = 'tsdb'")["queries"][0])
    assert with_index < promql_only


def test_the_tsdb_status_is_not_asked_about_a_window_across_midnight() -> None:
    from costscope.sources.cardinality_index import IndexUnavailable, VictoriaTsdbStatus
    from costscope.sources.http import HttpClient
    from costscope.sources.promql_counter import PromqlCounter

    midnight = 1_796_601_600.0  # 2026-12-07T00:00:00Z
    with HttpClient(SourceConfig(name="vm", url="http://127.0.0.1:9")) as client:
        index = VictoriaTsdbStatus(client, PromqlCounter(client, midnight + 60, 600, 10))
        with pytest.raises(IndexUnavailable, match="crosses midnight UTC"):
            index.label_stats(("m",), ["a"], 0)  # refused before any request is sent
        inside = VictoriaTsdbStatus(client, PromqlCounter(client, midnight + 700, 600, 10))
        assert inside.date == inside.first_date == "2026-12-07"


@pytest.mark.parametrize("backend", ["victoriametrics", "mimir"])
def test_a_labels_values_over_many_metrics_come_from_the_index(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every label has "many" values: its distinct values over several metrics are one index request
    monkeypatch.setattr("costscope.sources.promql_counts.SAMPLE_VALUES", 1)
    if backend == "victoriametrics":
        vm: servers.Server = request.getfixturevalue("victoria_metrics")
        servers.vm_import(vm, counted_fleet(scale=3, timestamp_ms=int((time.time() - 120) * 1000)))
        series, counts, store = _both(vm.url, tmp_path, lookback_s=600.0)
        _assert_equal(series, counts)
        return
    with loopback(_mimir_double(request.getfixturevalue("prometheus_url"), "ok", [])) as url:
        series, counts, store = _both(url, tmp_path, headers=(("X-Scope-OrgID", TENANT),))
    _assert_equal(series, counts)
    assert "from Mimir" in _reason(store)
