"""A plan's folder, one target each: Prometheus (checked by the real promtool), a patched
prometheus.yml that keeps the user's comments, the OpenTelemetry Collector fragment, Promtail and
Alloy stages, and other vendors' documented formats. (The Prometheus part is applied to a real
Prometheus writing to a real VictoriaMetrics in tests/e2e/test_plan_live.py.)"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from costscope.cli import app
from costscope.config import Config
from costscope.errors import ConfigError
from costscope.recommend.plan import Plan
from costscope.recommend.plan_exports import alloy_process
from costscope.recommend.plan_prometheus import (
    KEPT_SUFFIX,
    RULES_FILE,
    patch_prometheus_config,
    prometheus_plan,
)
from costscope.report.plan import plan_files
from costscope.run import run_plan
from costscope.store import Store
from tests import servers

ROOT = Path(__file__).resolve().parents[2]
USER_CONFIG = """\
# the platform team's Prometheus
global:
  scrape_interval: 15s   # billed per minute
scrape_configs:
  - job_name: api-gateway    # the edge
    static_configs:
      - targets: ['gw:8080']
  - job_name: search
    static_configs:
      - targets: ['search:8080']
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'debug_.*'
        action: drop
remote_write:
  - url: https://mimir.example/api/v1/push
"""


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plan]:
    """Every action of the demo that breaks nothing, planned together."""
    tmp = tmp_path_factory.mktemp("plan")
    with Store.open(tmp / "p.duckdb") as store:
        _, plan = run_plan(store, [str(ROOT / "sample_data")], Config())
        yield plan


def test_every_file_loads_and_the_readme_lists_it(demo_plan: Plan) -> None:
    files, notes = plan_files(demo_plan, USER_CONFIG)
    for path, text in files.items():
        if path.endswith((".yml", ".yaml")):
            assert yaml.safe_load(text) is not None, path
            assert "&id" not in text and "*id" not in text, path  # no YAML aliases in pasted config
        if path.endswith(".json"):
            json.loads(text)
    readme = files["README.md"]
    for path in files:
        if path != "README.md":
            assert f"`{path}`" in readme, path
    assert {"prometheus", "otelcol", "promtail", "alloy", "exports"} <= {p.split("/")[0] for p in files}
    assert any("no scrape job of that name" in n for n in notes)  # the demo has jobs USER_CONFIG lacks


def test_prometheus_files_pass_the_real_promtool(demo_plan: Plan, tmp_path: Path) -> None:
    promtool = servers.require_binary("promtool")
    files, _ = plan_files(demo_plan, USER_CONFIG)
    for relative, text in files.items():
        if relative.startswith("prometheus/"):
            (tmp_path / Path(relative).name).write_text(text)
    checks = [["check", "rules", RULES_FILE]] + [
        ["check", "config", name] for name in ("scrape_configs.yml", "remote_write.yml", "prometheus.yml")
    ]
    for argv in checks:
        done = subprocess.run([promtool, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)


def test_aggregations_are_recorded_apart_and_renamed_on_the_way_out(demo_plan: Plan) -> None:
    pp = prometheus_plan(demo_plan)
    records = {r["record"]: r["expr"] for r in pp.rules}
    assert records["http_requests_total" + KEPT_SUFFIX] == (
        'sum without (instance, method, user_id) ({__name__="http_requests_total"})'
    )
    # a histogram: each of its samples, le kept
    assert {f"http_request_duration_seconds_{s}{KEPT_SUFFIX}" for s in ("bucket", "sum", "count")} <= set(
        records
    )
    drop_raw, rename, *rest = pp.write_relabel
    assert drop_raw["action"] == "drop" and "http_requests_total" in str(drop_raw["regex"]).split("|")
    assert rename["action"] == "replace" and rename["replacement"] == "$1"
    # a dropped metric goes at scrape time, in each job that has it, and again on the way out
    assert any("inventory_stock_level" in str(r["regex"]) for r in pp.metric_relabel["inventory"])
    assert any("inventory_stock_level" in str(r["regex"]).split("|") for r in rest)
    assert any("sums of counters" in n for n in pp.notes)


def test_the_patched_config_keeps_the_users_comments_order_and_rules(demo_plan: Plan) -> None:
    patched, _notes = patch_prometheus_config(USER_CONFIG, prometheus_plan(demo_plan))
    for comment in ("# the platform team's Prometheus", "# billed per minute", "# the edge"):
        assert comment in patched
    doc = yaml.safe_load(patched)
    assert list(doc) == ["global", "scrape_configs", "remote_write", "rule_files"]
    search = doc["scrape_configs"][1]["metric_relabel_configs"]
    assert search[0]["regex"] == "debug_.*" and len(search) > 1  # the user's rule first, the plan's after
    assert doc["rule_files"] == [RULES_FILE]
    assert doc["remote_write"][0]["write_relabel_configs"]
    assert doc["remote_write"][0]["url"] == "https://mimir.example/api/v1/push"
    _without_remote, more = patch_prometheus_config(
        USER_CONFIG.split("remote_write")[0], prometheus_plan(demo_plan)
    )
    assert any("has no remote_write" in n for n in more)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scrape_configs: [\n", "prometheus.yml:2: not valid YAML"),
        ("- a\n- b\n", "not a Prometheus configuration"),
    ],
)
def test_a_bad_prometheus_config_is_named(demo_plan: Plan, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        patch_prometheus_config(text, prometheus_plan(demo_plan))


def test_vendor_exports_follow_their_documented_shapes(demo_plan: Plan) -> None:
    files, _ = plan_files(demo_plan)
    rules = json.loads(files["exports/grafana-adaptive-metrics.json"])
    for rule in rules:
        assert set(rule) in ({"metric", "drop"}, {"metric", "drop_labels", "aggregations"}), rule
        assert set(rule.get("aggregations", [])) <= {"sum", "sum:counter"}
    by_metric = {r["metric"]: r for r in rules}
    assert by_metric["http_requests_total"] == {
        "metric": "http_requests_total", "drop_labels": ["instance", "method", "user_id"], "aggregations": ["sum:counter"],
    }  # fmt: skip
    assert by_metric["inventory_stock_level"] == {"metric": "inventory_stock_level", "drop": True}
    datadog = json.loads(files["exports/datadog-metrics-without-limits.json"])
    (requests,) = [d for d in datadog if d["data"]["id"] == "http_requests_total"]
    assert requests["data"]["type"] == "manage_tags"
    assert requests["data"]["attributes"] == {"tags": ["job", "route", "status"], "metric_type": "count"}
    stream = yaml.safe_load(files["exports/vmagent-stream-aggr.yml"])
    (entry,) = [e for e in stream if e["match"] == '{__name__="http_requests_total"}']
    assert entry["outputs"] == ["total"] and entry["keep_metric_names"] is True
    assert entry["without"] == ["instance", "method", "user_id"]
    relabel = yaml.safe_load(files["exports/vmagent-relabel.yml"])
    assert any("inventory_stock_level" in r["regex"].split("|") for r in relabel)


def test_collector_fragment_joins_metric_log_and_trace_actions(demo_plan: Plan) -> None:
    files, _ = plan_files(demo_plan)
    processors = yaml.safe_load(files["otelcol/processors.yaml"])["processors"]
    assert 'name == "inventory_stock_level"' in processors["filter/costscope"]["metrics"]["metric"]
    assert len(processors["filter/costscope"]["logs"]["log_record"]) == 4  # DEBUG lines of four services
    (requests,) = [
        t
        for t in processors["metricstransform/costscope"]["transforms"]
        if t["include"] == "http_requests_total"
    ]
    assert requests["operations"][0]["label_set"] == ["job", "route", "status"]


def test_alloy_stages_mirror_promtail_stages(demo_plan: Plan) -> None:
    files, _ = plan_files(demo_plan)
    stages = yaml.safe_load(files["promtail/pipeline_stages.yaml"])["pipeline_stages"]
    alloy = files["alloy/costscope.alloy"]
    assert alloy.count("{") == alloy.count("}")
    assert alloy.count("stage.match {") == sum(1 for s in stages if "match" in s)
    text = alloy_process([{"drop": {"expression": 'a "quoted" \\ line'}}])
    assert 'expression = "a \\"quoted\\" \\\\ line"' in text


def test_cli_writes_every_target_and_refuses_an_unreadable_config(tmp_path: Path) -> None:
    user = tmp_path / "prometheus.yml"
    user.write_text(USER_CONFIG)
    out = tmp_path / "plan"
    args = [
        "plan",
        str(ROOT / "sample_data"),
        "--out",
        str(out),
        "--db",
        str(tmp_path / "p.duckdb"),
        "--no-color",
    ]
    result = CliRunner().invoke(app, [*args, "--prometheus-config", str(user)])
    assert result.exit_code == 0, result.output
    assert (out / "prometheus" / "prometheus.yml").read_text().startswith("# the platform team's Prometheus")
    assert (out / "README.md").exists() and (out / "exports" / "grafana-adaptive-metrics.json").exists()
    assert "config per target" in result.output
    missing = CliRunner().invoke(app, [*args, "--prometheus-config", str(tmp_path / "nope.yml")])
    assert missing.exit_code == 2 and "nope.yml: cannot read it" in missing.output
    broken = tmp_path / "broken.yml"
    broken.write_text("scrape_configs: [\n")
    bad = CliRunner().invoke(app, [*args, "--prometheus-config", str(broken)])
    assert bad.exit_code == 2 and "not valid YAML" in bad.output


def test_a_plan_of_a_folder_with_a_refused_file_is_written_and_exits_3(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.prom").write_text('# TYPE up gauge\nup{job="a"} 1\n')
    (folder / "bad.prom").write_text('# TYPE x counter\nx{job="a" 1\n')
    out = tmp_path / "plan"
    args = ["plan", str(folder), "--out", str(out), "--db", str(tmp_path / "p.duckdb"), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "is partial" in result.output and "bad.prom:2" in result.output
    assert json.loads((out / "plan.json").read_text())["total_before"] >= 0
