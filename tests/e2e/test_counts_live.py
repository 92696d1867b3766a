"""``collect: counts`` against the real Prometheus 2.42 and VictoriaMetrics 1.79 from Debian.

The same data read both ways gives the same analysis: series per metric, job and team, every label
drop, keep sets, buckets, label cardinality. Hypothesis checks the counting queries against sets
computed here from the generated label sets (an oracle that is not costscope), and the servers'
query limits are split around, never reported as a wrong count.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costscope.analyze import Analysis
from costscope.config import Config, OwnershipRule, SourceConfig
from costscope.run import run_analysis
from costscope.sources.http import HttpClient
from costscope.sources.promql_counter import Count, PromqlCounter
from costscope.store import Store
from tests import servers
from tests.counted_fleet import counted_fleet

pytestmark = pytest.mark.servers

RULES = """
groups:
  - name: shop
    rules:
      - alert: ShopErrors
        expr: sum by (route) (rate(shop_requests_total[5m])) > 1
      - record: queue:depth:sum
        expr: sum by (team) (queue_depth)
"""
OWNERS = (OwnershipRule("payments", (("team", "payments"),)), OwnershipRule("shop", (("job", "shop"),)))


def _both(url: str, tmp_path: Path, **counts: object) -> tuple[Analysis, Analysis, Store]:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    out = []
    store = None
    for mode in ("series", "counts"):
        store = Store.open(tmp_path / f"{mode}.duckdb")
        source = SourceConfig(name="tsdb", url=url, collect=mode, **counts)  # type: ignore[arg-type]
        cfg = Config(sources=(source, SourceConfig(name="rules", kind="rules", path=rules)), ownership=OWNERS)
        run, analysis = run_analysis(store, (), cfg, show_values=True)
        assert run.status == "complete", run.errors
        out.append(analysis)
    assert store is not None
    return out[0], out[1], store


def _same(a: pl.DataFrame, b: pl.DataFrame, keys: list[str], columns: list[str]) -> None:
    left = a.select(keys + columns).sort(keys)
    right = b.select(keys + columns).sort(keys)
    assert left.to_dicts() == right.to_dicts()


def _assert_equal(series: Analysis, counts: Analysis) -> None:
    _same(series.metrics, counts.metrics, ["metric"], ["series", "type", "jobs", "monthly_cost"])
    _same(series.by_job, counts.by_job, ["job", "metric"], ["series"])
    _same(series.by_team, counts.by_team, ["team", "metric"], ["series"])
    _same(
        series.label_drops,
        counts.label_drops,
        ["metric", "label"],
        ["series_before", "series_after", "label_values", "unique_per_series"],
    )
    _same(series.labels, counts.labels, ["label"], ["label_values", "series", "metrics", "reason"])
    _same(
        series.histograms, counts.histograms, ["metric"], ["points", "label_sets", "series", "dropped_points"]
    )
    _same(series.usage.keep_used, counts.usage.keep_used, ["metric"], ["dropped", "series_after"])
    assert counts.usage.keep_used.height >= 1  # the rules leave labels nothing reads: counted in pass two
    assert counts.uncounted_keep_sets.is_empty()
    assert counts.label_drops["coverage"].unique().to_list() == ["exact"]


def _vm_data(vm: servers.Server, text: str) -> None:
    # VictoriaMetrics hides the newest 30 s (-search.latencyOffset): the samples are two minutes old
    servers.vm_import(vm, text)


def test_victoria_metrics_counts_equal_series(victoria_metrics: servers.Server, tmp_path: Path) -> None:
    _vm_data(victoria_metrics, counted_fleet(scale=3, timestamp_ms=int((time.time() - 120) * 1000)))
    series, counts, store = _both(victoria_metrics.url, tmp_path)
    _assert_equal(series, counts)
    run = store.query("SELECT mode, reason, queries FROM count_runs WHERE source = 'tsdb'").row(0, named=True)
    assert run["mode"] == "counts" and run["reason"].startswith("collect: counts") and run["queries"] > 20
    # nothing per series was stored: the backend did the counting
    assert store.query("SELECT count(*) AS n FROM metric_series")["n"][0] == 0


@contextmanager
def _prometheus_scraping(
    tmp_path: Path, text: str, interval: str, args: list[str] | None = None
) -> Iterator[str]:
    """A real Prometheus scraping ``text`` as job shop; yields its URL once the target is up."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "metrics").write_text(text)
    workdir = tmp_path / "prom"
    workdir.mkdir()
    with (
        servers.served_files(served) as base,
        servers.prometheus(
            workdir, {"shop": [base.removeprefix("http://")]}, scrape_interval=interval, extra_args=args
        ) as prom,
    ):
        servers.wait_for(lambda: servers.prom_count(prom.url, 'up{job="shop"}') > 0, timeout=60)
        yield prom.url


def test_prometheus_counts_equal_series(tmp_path: Path) -> None:
    with _prometheus_scraping(tmp_path, counted_fleet(scale=2), "1s") as url:
        servers.wait_for(lambda: servers.prom_count(url, "shop_requests_total") > 0, timeout=60)
        time.sleep(2)
        series, counts, store = _both(url, tmp_path)
    _assert_equal(series, counts)
    samples = store.query("SELECT samples FROM count_runs WHERE source = 'tsdb'")["samples"][0]
    assert samples is not None and samples > 0  # Prometheus says what the counting touched (stats=all)


def test_a_query_limit_is_split_around_never_a_wrong_count(tmp_path: Path) -> None:
    # a backend that refuses any query touching more than 40 samples (one sample per series here)
    with servers.victoria_metrics(tmp_path, ["-search.maxSamplesPerQuery=40"]) as vm:
        _vm_data(vm, counted_fleet(scale=1, timestamp_ms=int((time.time() - 120) * 1000)))
        r = httpx.get(
            vm.url + "/api/v1/query", params={"query": "count(last_over_time(shop_requests_total[1h]))"}
        )
        assert r.status_code == 422 and "maxSamplesPerQuery" in r.text, r.text  # the limit is real
        series, counts, store = _both(vm.url, tmp_path)
    _assert_equal(series, counts)
    queries = store.query("SELECT queries FROM count_runs WHERE source = 'tsdb'")["queries"][0]
    assert queries > 100  # the refused queries were asked again in parts


@pytest.fixture(scope="module")
def shared_vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Server]:
    """One VictoriaMetrics for every Hypothesis example (each writes a metric of its own)."""
    with servers.victoria_metrics(tmp_path_factory.mktemp("vm")) as vm:
        yield vm


LABEL_SETS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 4)), st.booleans()),
    min_size=1,
    max_size=40,
)
_examples = itertools.count()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=LABEL_SETS)
def test_counting_queries_equal_sets_computed_here(
    shared_vm: servers.Server, rows: list[tuple[int, int, int | None, bool]]
) -> None:
    name = f"hyp_{next(_examples)}_total"
    sets = set()
    for a, b, c, correlated in rows:
        labels = {"a": f"a{a}", "b": f"b{a if correlated else b}"}  # b follows a when correlated
        if c is not None:
            labels["c"] = f"c{c}"  # only some series carry c
        sets.add(tuple(sorted(labels.items())))
    ts = int((time.time() - 120) * 1000)
    text = "".join(
        name + "{" + ",".join(f'{k}="{v}"' for k, v in s) + "}" + f" 1 {ts}\n" for s in sorted(sets)
    )
    servers.vm_import(shared_vm, text)
    with HttpClient(SourceConfig(name="vm", url=shared_vm.url)) as client:
        counter = PromqlCounter(client, time.time(), 3600, 10_000)

        def one(outer: str, member: str = "", **kw: object) -> float:
            return counter.evaluate(Count((name,), outer, member, **kw)).get((), 0.0)  # type: ignore[arg-type]

        assert one("count({x})") == len(sets)
        for label in ("a", "b", "c"):
            carriers = [dict(s) for s in sets if label in dict(s)]
            assert one(f"count(count by ({label}) ({{x}}))", f'{label}!=""') == len(
                {s[label] for s in carriers}
            )
            assert one("count({x})", f'{label}!=""') == len(carriers)
            after = {tuple(p for p in s if p[0] != label) for s in sets}
            assert one(f"count(count without ({label}) ({{x}}))") == len(after)
        kept = {tuple(p for p in s if p[0] not in ("a", "c")) for s in sets}
        assert one("count(count without (a, c) ({x}))") == len(kept)


def test_cli_auto_picks_counts_above_the_threshold_and_says_why(
    victoria_metrics: servers.Server, tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from costscope.cli import app

    _vm_data(victoria_metrics, counted_fleet(timestamp_ms=int((time.time() - 120) * 1000)))
    cfg = tmp_path / "costscope.yaml"
    cfg.write_text(
        f"sources:\n  - name: vm\n    url: {victoria_metrics.url}\n    collect_threshold: 100\n    exact_top: 1\n"
    )
    runner = CliRunner()
    args = [
        "analyze",
        "--config",
        str(cfg),
        "--db",
        str(tmp_path / "c.duckdb"),
        "--report",
        str(tmp_path / "r.html"),
    ]
    result = runner.invoke(app, [*args, "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    source = json.loads((tmp_path / "a.json").read_text())["sources"][0]
    assert source["collect"] == "counts" and source["collect_reason"].startswith("auto: about ")
    assert source["queries"] > 10
    assert "vm: counted inside the backend (auto: about" in result.output
    assert "label economics exact for the 1 largest counted metric(s)" in result.output
    assert "collected as" in (tmp_path / "r.html").read_text()
    # forced back to pulling every series from the command line
    result = runner.invoke(app, [*args, "--collect", "series", "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b.json").read_text())["sources"][0]["collect"] == "series"
    bad = runner.invoke(app, [*args, "--collect", "everything"])
    assert bad.exit_code == 2 and "collect must be one of series, counts, auto" in bad.output
    drops = json.loads((tmp_path / "a.json").read_text())["label_drops"]
    coverage = {d["coverage"] for d in drops}
    assert coverage == {"exact", "cardinality_only"}  # exact economics for the largest metric only
    assert all(d["series_after"] is None for d in drops if d["coverage"] == "cardinality_only")


def test_a_counted_snapshot_exported_and_read_back_analyzes_the_same(
    victoria_metrics: servers.Server, tmp_path: Path
) -> None:
    from costscope.store.export import export_parquet

    _vm_data(victoria_metrics, counted_fleet(timestamp_ms=int((time.time() - 120) * 1000)))
    _, counts, store = _both(victoria_metrics.url, tmp_path)
    export_parquet(store, tmp_path / "export")
    store.close()
    with Store.open(tmp_path / "back.duckdb") as back:
        run, again = run_analysis(
            back, [str(tmp_path / "export")], Config(ownership=OWNERS), show_values=True
        )
    assert run.status == "complete", run.errors
    _same(counts.metrics, again.metrics, ["metric"], ["series", "monthly_cost"])
    _same(counts.label_drops, again.label_drops, ["metric", "label"], ["series_after", "coverage"])
    _same(counts.histograms, again.histograms, ["metric"], ["points", "label_sets"])


def test_prometheus_max_samples_is_split_around(tmp_path: Path) -> None:
    with _prometheus_scraping(tmp_path, counted_fleet(scale=1), "3s", ["--query.max-samples=300"]) as url:
        time.sleep(7)  # three samples a series: counting a whole metric loads more than 300
        r = httpx.get(
            url + "/api/v1/query", params={"query": "count(last_over_time(shop_requests_total[1h]))"}
        )
        assert r.status_code == 422 and "too many samples" in r.text, r.text
        series, counts, store = _both(url, tmp_path)
    _assert_equal(series, counts)
    assert store.query("SELECT queries FROM count_runs WHERE source = 'tsdb'")["queries"][0] > 100
