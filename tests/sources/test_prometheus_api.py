"""The Prometheus API source on recorded answers: flavour, every series, splitting, partial runs."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from costscope.config import SourceConfig
from costscope.ingest import collect
from costscope.sources.http import HttpClient
from costscope.sources.prometheus_api import MAX_ERRORS, detect, infer_families
from costscope.store import Store
from tests.conftest import SAMPLE_DATA


def _ok(data: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})


class FakeServer:
    """A Prometheus-shaped API over a fixed set of series, with an optional series limit."""

    def __init__(self, series: list[dict[str, str]], limit: int | None = None, flavour: str = "prometheus",
                 fail: set[str] | None = None) -> None:  # fmt: skip
        self.series, self.limit, self.flavour, self.fail = series, limit, flavour, fail or set()
        self.requests: list[str] = []

    def _select(self, selector: str) -> list[dict[str, str]]:
        import re

        out = self.series
        for label, op, value in re.findall(r'([a-zA-Z_]+)(=~|=)"((?:[^"\\]|\\.)*)"', selector):
            value = value.replace('\\"', '"').replace("\\\\", "\\")
            if op == "=":
                out = [s for s in out if s.get(label, "") == value]
            else:
                rx = re.compile(f"^(?:{value})$")
                out = [s for s in out if rx.match(s.get(label, ""))]
        return out

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        q = parse_qs(request.url.query.decode())
        self.requests.append(path)
        if path == "/api/v1/status/buildinfo":
            return _ok({} if self.flavour == "victoriametrics" else {"version": "2.42.0"})
        if path == "/api/v1/status/tsdb":
            return _ok({"totalSeries": 1} if self.flavour == "victoriametrics" else {"headStats": {}})
        if path == "/api/v1/label/__name__/values":
            return _ok(sorted({s["__name__"] for s in self.series}))
        if path == "/api/v1/metadata":
            return _ok({"req": [{"type": "counter", "help": "Requests.", "unit": ""}]})
        if path == "/api/v1/series":
            selector = q["match[]"][0]
            if any(f in selector for f in self.fail):
                return httpx.Response(503, text="overloaded")
            found = self._select(selector)
            if self.limit is not None and len(found) > self.limit:
                return httpx.Response(422, json={"status": "error", "errorType": "422",
                                                 "error": f"the number of matching timeseries exceeds {self.limit}"})  # fmt: skip
            return _ok(found)
        if path == "/api/v1/labels":
            found = self._select(q["match[]"][0])
            return _ok(sorted({k for s in found for k in s}))
        if path.startswith("/api/v1/label/") and path.endswith("/values"):
            label = path.split("/")[4]
            found = self._select(q["match[]"][0])
            return _ok(sorted({s[label] for s in found if label in s}))
        if path == "/api/v1/query":
            return _ok({"resultType": "vector", "result": [
                {"metric": {"job": "api", "instance": "a:1"}, "value": [0, "120"]}]})  # fmt: skip
        if path == "/api/v1/targets":
            return _ok(
                {"activeTargets": [{"labels": {"job": "api", "instance": "a:1"}, "scrapeInterval": "30s"}]}
            )
        return httpx.Response(404)


def _series(users: int) -> list[dict[str, str]]:
    out = [{"__name__": "req", "job": "api", "user_id": f"u{i}", "route": f"/r{i % 3}"} for i in range(users)]
    out += [
        {"__name__": "req", "job": "api", "route": "/anon"}
    ]  # no user_id: found by the split's "" matcher
    out += [{"__name__": "up", "job": "api", "instance": "a:1"}]
    return out


def _run(tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, object, list]:
    real = HttpClient.__init__

    def with_transport(self: HttpClient, source: SourceConfig, **kw: object) -> None:
        real(self, source, transport=httpx.MockTransport(server), sleep=lambda s: None)

    monkeypatch.setattr(HttpClient, "__init__", with_transport)
    store = Store.open(tmp_path / "p.duckdb")
    snap = store.begin("r", [])
    with snap.transaction():
        result, errors = collect(SourceConfig(name="prom", url="http://prom.test:9090", retries=1), snap)
        snap.finish("partial" if errors else "complete", {})
    return store, result, errors


def test_every_series_is_collected_with_metadata_and_scrape_stats(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    store, result, errors = _run(tmp_path, FakeServer(_series(50)), monkeypatch)
    assert errors == [] and result.status == "complete" and result.flavour == "prometheus"  # type: ignore[attr-defined]
    meta = dict(store.query("SELECT metric, series FROM metric_meta").iter_rows())
    assert meta == {"req": 51, "up": 1}
    assert store.query("SELECT type FROM metric_meta WHERE metric = 'req'")["type"][0] == "counter"
    stats = store.query("SELECT job, samples_scraped, interval_s FROM scrape_stats").row(0)
    assert stats == ("api", 120.0, 30.0)
    store.close()


def test_a_metric_over_the_server_limit_is_split_and_still_exact(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    server = FakeServer(_series(1000), limit=100, flavour="victoriametrics")
    store, result, errors = _run(tmp_path, server, monkeypatch)
    assert errors == [] and result.flavour == "victoriametrics"  # type: ignore[attr-defined]
    assert dict(store.query("SELECT metric, series FROM metric_meta").iter_rows())["req"] == 1001
    assert server.requests.count("/api/v1/series") > 10
    store.close()


def test_a_failing_metric_makes_a_partial_source_and_the_rest_is_kept(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    store, result, errors = _run(tmp_path, FakeServer(_series(10), fail={'"up"'}), monkeypatch)
    assert result.status == "partial"  # type: ignore[attr-defined]
    assert len(errors) == 1 and "HTTP 503" in str(errors[0])
    assert dict(store.query("SELECT metric, series FROM metric_meta").iter_rows()) == {"req": 11}
    store.close()


def test_after_max_errors_the_source_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    series = [{"__name__": f"m{i}", "job": "x"} for i in range(MAX_ERRORS * 3)]
    server = FakeServer(series, fail={"m"})
    _, result, errors = _run(tmp_path, server, monkeypatch)
    assert result.status == "failed"  # type: ignore[attr-defined]
    assert "giving up" in str(errors[-1])
    assert server.requests.count("/api/v1/series") < len(series) * 2


def test_victoriametrics_is_recognised_by_its_tsdb_keys() -> None:
    client = HttpClient(SourceConfig(name="vm", url="http://vm:8428"),
                        transport=httpx.MockTransport(FakeServer([], flavour="victoriametrics")))  # fmt: skip
    assert detect(client).flavour == "victoriametrics"


def test_histogram_families_are_inferred_without_metadata() -> None:
    meta: dict[str, tuple[str | None, str | None, str | None]] = {}
    infer_families(["lat_bucket", "lat_sum", "lat_count", "q", "q_sum", "q_count", "x_bucket"], meta)
    assert meta == {"lat": ("histogram", None, None), "q": ("summary", None, None)}


def test_the_demo_recording_replays_through_the_same_parser(tmp_path: Path) -> None:
    manifest = json.loads((SAMPLE_DATA / "prometheus" / "recording.json").read_text())
    series_requests = [r for r in manifest["responses"] if r["path"] == "/api/v1/series"]
    expected = sum(len(json.loads((SAMPLE_DATA / "prometheus" / r["file"]).read_text())["data"])
                   for r in series_requests)  # fmt: skip
    with Store.open(tmp_path / "d.duckdb") as store:
        snap = store.begin("r", [])
        with snap.transaction():
            result, errors = collect(SourceConfig(name="demo", path=SAMPLE_DATA / "prometheus"), snap)
            snap.finish("complete", {})
        assert errors == [] and result.series == expected and result.version == "2.53.1"
