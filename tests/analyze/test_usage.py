"""Usage analysis: readers per metric, recording-rule chains, unused metrics, guarded actions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
import yaml

import costscope
from costscope.recommend import Recommendation, rank
from tests.conftest import REALWORLD, shared


def _exposition() -> str:
    lines = ["# TYPE api_requests_total counter"]
    for pod in range(60):
        lines.append(f'api_requests_total{{job="api",pod="p{pod}"}} 1')
    lines.append("# TYPE queue_depth gauge")
    for shard in range(40):
        lines.append(f'queue_depth{{job="q",shard="{shard}",queue="main"}} 1')
    lines.append("# TYPE base_total counter")
    for worker in range(30):
        lines.append(f'base_total{{job="w",worker="{worker}",kind="x"}} 1')
    lines.append("# TYPE orphan_bytes gauge")
    for i in range(25):
        lines.append(f'orphan_bytes{{job="w",i="{i}"}} 1')
    lines.append("# TYPE slo_requests_total counter")
    for pod in range(20):
        lines.append(f'slo_requests_total{{job="api",pod="p{pod}",code="200"}} 1')
    return "\n".join(lines) + "\n"


@pytest.fixture
def demo(tmp_path: Path) -> costscope.Workspace:
    (tmp_path / "m.prom").write_text(_exposition())
    rules = {
        "groups": [
            {
                "name": "g",
                "rules": [
                    {"alert": "PodHot", "expr": "sum by (pod) (rate(api_requests_total[5m])) > 100"},
                    {"record": "kind:base:rate5m", "expr": "sum by (kind) (rate(base_total[5m]))"},
                    {"record": "kind:base:rate1h", "expr": "avg_over_time(kind:base:rate5m[1h])"},
                ],
            }
        ]
    }
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    slo = {
        "version": "prometheus/v1",
        "service": "api",
        "slos": [
            {
                "name": "avail",
                "sli": {
                    "events": {
                        "error_query": 'sum(rate(slo_requests_total{code=~"5.."}[{{.window}}]))',
                        "total_query": "sum by (pod) (rate(slo_requests_total[{{.window}}]))",
                    }
                },
            }
        ],
    }
    (tmp_path / "slo.yml").write_text(yaml.safe_dump(slo))
    board = {
        "title": "Queues",
        "panels": [
            {"title": "depth", "targets": [{"expr": "sum by (queue) (queue_depth)"}]},
            {"title": "base", "targets": [{"expr": "kind:base:rate1h"}]},
        ],
    }
    (tmp_path / "board.json").write_text(json.dumps(board))
    return costscope.analyze([str(tmp_path)], db=tmp_path / "db")


def _usage(ws: costscope.Workspace, metric: str) -> dict[str, object]:
    return ws.usage().filter(pl.col("metric") == metric).row(0, named=True)


def test_readers_and_needed_labels(demo: costscope.Workspace) -> None:
    api = _usage(demo, "api_requests_total")
    assert api["alerts"] == 1 and api["labels_needed"] == ["pod"]
    assert sorted(api["labels_unused"]) == ["instance", "job"]  # instance: the file it came from
    queue = _usage(demo, "queue_depth")
    assert queue["dashboards"] == 1 and queue["labels_needed"] == ["queue"]


def test_recording_rule_chain_reaches_the_dashboard(demo: costscope.Workspace) -> None:
    base = _usage(demo, "base_total")
    assert base["status"] == "used" and base["recording_rules"] == 2
    assert any("Queues" in r and "via kind:base:rate5m → kind:base:rate1h" in r for r in base["readers"])
    assert base["labels_needed"] == ["kind"]


def test_unused_metric_is_dropped_safely(demo: costscope.Workspace) -> None:
    assert set(demo.unused_metrics()["metric"]) == {"orphan_bytes"}
    recs = demo.recommendations()
    drop = recs.filter(pl.col("kind") == "drop_metric").row(0, named=True)
    assert drop["target"] == "orphan_bytes" and drop["risk_level"] == "none" and drop["series_saved"] == 25


def test_breaking_actions_rank_after_safe_ones_and_say_what_breaks(demo: costscope.Workspace) -> None:
    recs = demo.recommendations()
    levels = recs["risk_level"].to_list()
    breaking = [i for i, lv in enumerate(levels) if lv in ("dashboard", "alert", "recording_rule", "slo")]
    safe = [i for i, lv in enumerate(levels) if lv not in ("dashboard", "alert", "recording_rule", "slo")]
    assert breaking and safe and max(safe) < min(breaking)
    pod = recs.filter(pl.col("target").str.starts_with("api_requests_total")).row(0, named=True)
    # the only big cut of api_requests_total is its pod label, which the alert groups by
    assert pod["risk_level"] == "alert" and "alert PodHot" in pod["risk"]
    slo = recs.filter(pl.col("target").str.starts_with("slo_requests_total")).row(0, named=True)
    assert slo["risk_level"] == "slo" and "SLO 'api/avail'" in slo["risk"]
    assert levels.index("slo") > levels.index("alert")


def test_keep_used_labels_saves_exactly(demo: costscope.Workspace) -> None:
    recs = demo.recommendations()
    queue = recs.filter(pl.col("target").str.starts_with("queue_depth")).row(0, named=True)
    assert queue["kind"] == "keep_used_labels" and queue["risk_level"] == "none"
    assert queue["series_saved"] == 39  # 40 shards of one queue become one series
    docs = list(yaml.safe_load_all(queue["config"]))
    transform = docs[0]["processors"]["metricstransform"]["transforms"][0]
    assert transform["operations"][0]["label_set"] == ["job", "queue"]


def _rec(target: str, savings: float, level: str) -> Recommendation:
    return Recommendation("aggregate", target, savings, 1, "r", "e", "c", "m", level)


def test_rank_never_puts_a_breaking_action_before_a_safe_one() -> None:
    recs = [
        _rec("slo", 1000.0, "slo"),
        _rec("alert", 500.0, "alert"),
        _rec("dash", 100.0, "dashboard"),
        _rec("safe-small", 1.0, "none"),
        _rec("unknown", 5.0, "unknown"),
        _rec("coarser", 50.0, "coarser"),
    ]
    assert [r.target for r in rank(recs)] == ["coarser", "unknown", "safe-small", "dash", "alert", "slo"]


def test_without_usage_every_risk_says_unknown(tmp_path: Path) -> None:
    (tmp_path / "m.prom").write_text(_exposition())
    ws = costscope.analyze([str(tmp_path / "m.prom")], db=tmp_path / "db")
    recs = ws.recommendations()
    assert set(recs["risk_level"]) == {"unknown"} and recs["risk"].str.contains("usage unknown").all()
    assert ws.usage().is_empty()


def test_a_folder_of_unrelated_yaml_does_not_make_metrics_unused(tmp_path: Path) -> None:
    (tmp_path / "m.prom").write_text(_exposition())
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: nginx\n")
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    assert not ws.analysis().usage.known
    assert "drop_metric" not in set(ws.recommendations()["kind"])


BROKEN_RULES = """\
groups:
- name: app
  rules:
  - alert: Up
    expr: up == 0
  - alert: TypoInName
    expr: rate(http_requets_total[5m]) > 1
  - alert: ReadsOnlyARule
    expr: job:http:rate5m > 10
  - record: job:http:rate5m
    expr: sum by (job) (rate(http_requests_total[5m]))
  - alert: NoTarget
    expr: absent(gone_metric{job="x"})
  - record: job:lat:p99
    expr: histogram_quantile(0.99, sum by (le) (rate(lat_seconds_bucket[5m])))
    labels: {cluster: eu}
  - record: job:lat:p99
    expr: histogram_quantile(0.99, sum by (le) (rate(lat_seconds_bucket[5m])))
    labels: {cluster: us}
  - record: renamed:rate5m
    expr: sum(rate(old_name_total[5m]))
  - alert: ThroughBrokenRule
    expr: renamed:rate5m < 1
"""


@pytest.fixture
def broken(tmp_path: Path) -> costscope.Workspace:
    (tmp_path / "m.prom").write_text(
        'up{job="a"} 1\nhttp_requests_total{job="a"} 1\nlat_seconds_bucket{le="1"} 1\nlat_seconds_bucket{le="+Inf"} 1\n'
    )
    (tmp_path / "rules.yml").write_text(BROKEN_RULES)
    return costscope.analyze([str(tmp_path)], db=tmp_path / "db")


def test_every_reader_counts_and_rules_with_other_labels_are_distinct(broken: costscope.Workspace) -> None:
    summary = broken.analysis().usage.summary()
    assert summary["alerts"] == 5  # also those reading only a recorded metric, or a missing one
    assert summary["recording_rules"] == 4  # job:lat:p99 twice: one per cluster


def test_readers_of_metrics_no_source_has_are_a_finding(broken: costscope.Workspace) -> None:
    missing = broken.analysis().usage.missing
    got = {(k, n, m, v) for k, n, m, v in missing.select("kind", "name", "metric", "via").iter_rows()}
    assert got == {
        ("alert", "TypoInName", "http_requets_total", None),
        ("recording_rule", "renamed:rate5m", "old_name_total", None),
        ("alert", "ThroughBrokenRule", "renamed:rate5m", "renamed:rate5m"),
    }  # absent() means to find nothing; a recorded metric whose rule reads what exists is fine
    assert missing["kind"][0] == "alert"  # broken alerts come first
    summary = broken.analysis().usage.summary()
    assert (summary["broken_readers"], summary["broken_alerts"]) == (3, 2)


def test_a_sample_name_of_two_families_is_read_in_both(tmp_path: Path) -> None:
    # a counter's x_total in one exposition, a family named x_total (untyped) in another: the
    # dashboard's query reads both, whichever order the store gives the names back in
    (tmp_path / "typed.prom").write_text('# TYPE x counter\nx_total{job="a"} 1\n')
    (tmp_path / "untyped.prom").write_text('x_total{job="b"} 1\n')
    board = {"title": "B", "panels": [{"title": "rate", "targets": [{"expr": "sum(rate(x_total[5m]))"}]}]}
    (tmp_path / "board.json").write_text(json.dumps(board))
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    for family in ("x", "x_total"):
        row = _usage(ws, family)
        assert row["status"] == "used", family
        assert row["readers"] == ["dashboard 'B' (panel 'rate')"]


@pytest.mark.parametrize(
    ("label", "read"),
    [
        ("cluster", {"with_cluster"}),  # only series that carry the label give it values
        ("$label", {"with_cluster", "without_cluster", "no_job"}),  # chosen at run time: any label
    ],
)
def test_a_label_values_variable_of_no_metric_reads_the_metrics_with_its_label(
    tmp_path: Path, label: str, read: set[str]
) -> None:
    # a file's series get job (its name) where they lack one, as a scrape gives them
    (tmp_path / "m.prom").write_text(
        'with_cluster{job="a",cluster="eu"} 1\nwithout_cluster{job="a",pod="p"} 1\nno_job{pod="q"} 1\n'
    )
    variable = {"name": "cluster", "type": "query", "query": f'label_values({{job=~"$job"}}, {label})'}
    board = {"title": "B", "templating": {"list": [variable]}, "panels": []}
    (tmp_path / "board.json").write_text(json.dumps(board))
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    status = dict(ws.usage().select("metric", "status").iter_rows())
    assert {m for m, s in status.items() if s == "used"} == read
    assert _usage(ws, "with_cluster")["readers"] == ["dashboard 'B' (panel 'variable $cluster')"]


@pytest.mark.parametrize("metric", ["up", "scrape_duration_seconds", "scrape_series_added"])
def test_what_prometheus_adds_to_a_scrape_is_not_missing_where_expositions_were_read(
    tmp_path: Path, metric: str
) -> None:
    (tmp_path / "m.prom").write_text('http_requests_total{job="a"} 1\n')  # no exporter exposes up
    rules = {"groups": [{"name": "g", "rules": [
        {"alert": "TargetDown", "expr": f'{metric}{{job="a"}} == 0'},
        {"alert": "Typo", "expr": "rate(http_requets_total[5m]) > 1"},
    ]}]}  # fmt: skip
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    missing = costscope.analyze([str(tmp_path)], db=tmp_path / "db").analysis().usage.missing
    assert missing.select("name", "metric").rows() == [("Typo", "http_requets_total")]


def test_a_metric_read_only_by_metricsql_is_not_dropped(tmp_path: Path) -> None:
    # Sloth's VictoriaMetrics example: its SLIs are MetricsQL (histogram_share), which the PromQL
    # parser refuses; the metric they read must not come out unused and be dropped
    spec = shared("realworld", "usage", "sloth", "specs", "victoria-metrics.yml")
    (tmp_path / "m.prom").write_text(
        "# TYPE requests_duration_seconds histogram\n"
        'requests_duration_seconds_bucket{vmrange="1e-1...2e-1",container_name="foo-bar-grpc"} 1\n'
        "requests_duration_seconds_sum 1\nrequests_duration_seconds_count 1\n"
        "# TYPE idle gauge\nidle 1\n"
    )
    (tmp_path / "slo.yml").write_text(spec.read_text())
    ws = costscope.analyze([str(tmp_path)], db=tmp_path / "db")
    row = _usage(ws, "requests_duration_seconds")
    assert row["status"] == "used"
    assert row["readers"] == [
        "SLO 'foo-bar/grpc-latency-percentile-90'",
        "SLO 'foo-bar/grpc-latency-percentile-99'",
    ]
    assert _usage(ws, "idle")["status"] == "unused"
    recs = ws.analysis().recommendations
    assert recs.filter(pl.col("target").str.starts_with("requests_duration_seconds")).is_empty()
    # the queries it could not parse are still said, and none of their names is a "missing" metric
    usage = ws.analysis().usage
    assert usage.summary()["problems"] == 4 and usage.missing.is_empty()


def test_a_cardinality_alert_reads_no_metric_in_particular(tmp_path: Path) -> None:
    """awesome-prometheus-alerts' Prometheus rules beside a Prometheus server's own /metrics: the
    cardinality alert (`count by (__name__) ({__name__=~".+"})`) selects every series and makes no
    metric used; the metrics used are those the other rules name (an independent token scan)."""
    rules = shared(
        "dashboards_rules", "awesome-prometheus-alerts", "prometheus-self-monitoring__embedded-exporter.yml"
    )
    exposition = shared("prometheus_exposition", "prometheus", "alltypes.237mfs.prom.txt")
    ws = costscope.analyze([str(exposition), str(rules)], db=tmp_path / "db")
    usage = ws.analysis().usage
    (row,) = usage.every_series().rows(named=True)
    assert row["name"] == "PrometheusTimeseriesCardinality"
    assert usage.summary()["every_series_readers"] == 1 and usage.summary()["problems"] == 0
    families = set(ws.analysis().metrics["metric"])
    exprs = [r["expr"] for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]]
    named = {t for e in exprs for t in re.findall(r"[a-zA-Z_:][\w:]*", e)}
    mentioned = {f for f in families if any(n == f or n.startswith(f + "_") for n in named)}
    used = set(usage.metrics.filter(pl.col("status") == "used")["metric"])
    assert used == mentioned and 0 < len(used) < len(families) / 2
    html = costscope.write_report(ws, tmp_path / "report.html").read_text()
    # beside it, the file's dead man's switch (vector(1)) reads no metric at all
    section = html.split("Readers of no metric in particular (2)")[1].split("<h3")[0]
    assert "PrometheusTimeseriesCardinality" in section and "every_series" in section
    assert "PrometheusAlertmanagerE2eDeadManSwitch" in section and "no_metric" in section


def test_every_rule_of_the_real_world_corpus_counts_once(tmp_path: Path) -> None:
    """Alerts and recording rules counted as a YAML walk over the corpus counts them (distinct name,
    group and static labels): rules of a constant (Sloth's `vector(1-0.99)` error budgets, a
    Watchdog's `vector(1)`) and of every series count too, though they read no metric."""
    usage_dir = REALWORLD / "usage"
    rules: dict[str, set[tuple[str, str, str]]] = {"alert": set(), "record": set()}
    for f in usage_dir.rglob("*.y*ml"):
        try:
            docs = list(yaml.safe_load_all(f.read_text()))
        except yaml.YAMLError:
            continue
        for doc in docs:
            spec = doc.get("spec") if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule" else doc
            for group in (spec or {}).get("groups") or [] if isinstance(spec, dict) else []:
                for rule in group.get("rules") or []:
                    for kind in rules:
                        if kind in rule:
                            labels = str(sorted((rule.get("labels") or {}).items()))
                            rules[kind].add((str(rule[kind]), str(group.get("name")), labels))
    summary = costscope.analyze([str(usage_dir)], db=tmp_path / "db").analysis().usage.summary()
    assert (summary["alerts"], summary["recording_rules"]) == (len(rules["alert"]), len(rules["record"]))
    assert summary["recording_rules"] > 300  # 72 of them record a constant
