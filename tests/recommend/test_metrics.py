"""Recommended config is valid for the real promtool and does what it says on a real scrape."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from costscope.cli import app
from tests import servers
from tests.conftest import SAMPLE_DATA

BUCKETS = [round(0.001 * 1.4**i, 6) for i in range(30)]


def _recommendations(tmp_path: Path, source: Path) -> list[dict[str, object]]:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["analyze", str(source), "--db", str(tmp_path / "r.duckdb"), "--json",
                                      str(out), "--report", str(tmp_path / "r.html"), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return list(json.loads(out.read_text())["recommendations"])


def _docs(rec: dict[str, object]) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(str(rec["config"])) if d]


def _served(tmp_path: Path) -> Path:
    served = tmp_path / "served"
    served.mkdir()
    (served / "metrics").write_text(_exposition())
    return served


def _exposition() -> str:
    lines = ["# TYPE lat_seconds histogram", "# TYPE req_total counter"]
    for region in ("eu", "us", "ap"):
        for step in ("cart", "pay"):
            count = 0
            for b in BUCKETS:
                count += 1
                lines.append(f'lat_seconds_bucket{{region="{region}",step="{step}",le="{b}"}} {count}')
            lines.append(f'lat_seconds_bucket{{region="{region}",step="{step}",le="+Inf"}} {count}')
            lines.append(f'lat_seconds_sum{{region="{region}",step="{step}"}} 1.5')
            lines.append(f'lat_seconds_count{{region="{region}",step="{step}"}} {count}')
    for u in range(200):
        lines.append(f'req_total{{route="/r{u % 4}",user_id="u-{u:08x}"}} {u}')
    return "\n".join(lines) + "\n"


@pytest.mark.servers
def test_every_config_of_the_demo_passes_promtool(tmp_path: Path) -> None:
    promtool = servers.require_binary("promtool")
    recs = _recommendations(tmp_path, SAMPLE_DATA)
    metric_kinds = {"aggregate", "reduce_buckets", "scrape_interval", "drop_metric", "keep_used_labels"}
    other_kinds = {  # logs and traces: their configs are YAML for other systems
        "drop_level", "sample_template", "log_to_metric", "truncate_lines", "drop_template", "sampling_policy",
    }  # fmt: skip
    kinds = {r["kind"] for r in recs}
    assert {"reduce_buckets", "scrape_interval", "drop_metric", "keep_used_labels"} <= kinds
    assert kinds <= metric_kinds | other_kinds and kinds & other_kinds
    relabels, rules, jobs = [], [], []
    for rec in recs:
        for doc in _docs(rec):
            assert set(doc) <= {
                "groups",
                "metric_relabel_configs",
                "processors",
                "view",
                "scrape_configs",
                "pipeline_stages",
                "connectors",
                "RulesVersion",
                "Samplers",
                "env",
            }, doc
            relabels += doc.get("metric_relabel_configs", [])
            rules += doc.get("groups", [])
            jobs += doc.get("scrape_configs", [])
    for i, group in enumerate(rules):
        group["name"] = f"{group['name']}-{i}"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rules}))
    check = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    config = {"scrape_configs": [{"job_name": "demo", "static_configs": [{"targets": ["127.0.0.1:1"]}],
                                  "metric_relabel_configs": relabels}, *jobs]}  # fmt: skip
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    check = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def _app_with(tmp_path: Path, name: str, usage: str) -> Path:
    """A source folder: the app's exposition and one usage file (rules or SLOs) reading it."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.prom").write_text(_exposition())
    (source / name).write_text(usage)
    return source


@contextlib.contextmanager
def _scraped_through(rec: dict[str, object], served: Path, tmp_path: Path) -> Iterator[Callable[[str], int]]:
    """A real Prometheus scraping ``served`` with the recommendation's metric_relabel_configs → a series counter."""
    (relabel,) = [d["metric_relabel_configs"] for d in _docs(rec) if "metric_relabel_configs" in d]
    workdir = tmp_path / "prom"
    workdir.mkdir()
    with (
        servers.served_files(served) as base,
        servers.prometheus(
            workdir, {"app": [base.removeprefix("http://")]}, metric_relabel_configs={"app": relabel}
        ) as prom,
    ):

        def count(q: str) -> int:
            return servers.prom_count(prom.url, q)

        servers.wait_for(lambda: count("req_total") == 200, timeout=30)
        yield count


@pytest.mark.servers
def test_reduce_buckets_on_a_real_scrape_drops_exactly_those_series(tmp_path: Path) -> None:
    served = _served(tmp_path)
    recs = _recommendations(tmp_path, served / "metrics")
    (reduce,) = [r for r in recs if r["kind"] == "reduce_buckets"]
    with _scraped_through(reduce, served, tmp_path) as count:
        label_sets = 6
        assert count("lat_seconds_bucket") == label_sets * 10  # 10 buckets kept, +Inf among them
        assert count('lat_seconds_bucket{le="+Inf"}') == label_sets
        assert count("lat_seconds_sum") == count("lat_seconds_count") == label_sets
        assert count("req_total") == 200  # the rest is intact
        assert reduce["series_saved"] == label_sets * (len(BUCKETS) + 1 - 10)


@pytest.mark.servers
def test_the_recording_rule_of_an_aggregate_makes_exactly_the_series_promised(tmp_path: Path) -> None:
    served = _served(tmp_path)
    recs = _recommendations(tmp_path, served / "metrics")
    (agg,) = [r for r in recs if r["target"] == "req_total without user_id"]
    (rules,) = [d for d in _docs(agg) if "groups" in d]
    record = rules["groups"][0]["rules"][0]["record"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    workdir = tmp_path / "prom"
    workdir.mkdir()
    with (
        servers.served_files(served) as base,
        servers.prometheus(
            workdir, {"app": [base.removeprefix("http://")]}, rule_files=[tmp_path / "rules.yml"]
        ) as prom,
    ):

        def count(q: str) -> int:
            return servers.prom_count(prom.url, q)

        servers.wait_for(lambda: count(record) > 0, timeout=60)
        # the recorded metric has exactly the series costscope said would remain
        assert count(record) == 200 - int(agg["series_saved"]) == 4


@pytest.mark.servers
def test_reduce_buckets_keeps_the_bounds_an_alert_selects_by_name(tmp_path: Path) -> None:
    """An apdex-style alert reads le="0.0014": the evenly spread cut would drop it; the recommendation keeps it."""
    pinned = str(BUCKETS[1])
    source = _app_with(
        tmp_path,
        "rules.yml",
        "groups:\n- name: slo\n  rules:\n  - alert: SlowCheckout\n"
        f'    expr: sum(rate(lat_seconds_bucket{{le="{pinned}"}}[5m])) / sum(rate(lat_seconds_count[5m])) < 0.9\n',
    )
    (reduce,) = [r for r in _recommendations(tmp_path, source) if r["kind"] == "reduce_buckets"]
    assert f"le={pinned} kept" in str(reduce["evidence"]) and reduce["target"] == "lat_seconds to 11 buckets"
    with _scraped_through(reduce, _served(tmp_path), tmp_path) as count:
        assert count(f'lat_seconds_bucket{{le="{pinned}"}}') == 6  # the alert still reads it
        assert count("lat_seconds_bucket") == 6 * 11
        assert reduce["series_saved"] == 6 * (len(BUCKETS) + 1 - 11)


@pytest.mark.parametrize(
    ("bad_query", "level"),
    [
        (
            f'sum(rate(lat_seconds_bucket{{le="{BUCKETS[1]}"}}[{{{{.window}}}}]))',
            "coarser",
        ),  # its bound is kept
        ('sum(rate(lat_seconds_bucket{le=~"0[.]00.*"}[{{.window}}]))', "slo"),  # a pattern: a cut changes it
    ],
    ids=["bound-by-name", "bound-pattern"],
)
def test_an_slo_on_bounds_it_names_is_spared_by_a_bucket_cut(
    tmp_path: Path, bad_query: str, level: str
) -> None:
    source = _app_with(
        tmp_path,
        "lat.slo.yml",
        "version: prometheus/v1\nservice: shop\nslos:\n- name: fast\n  objective: 99\n  sli:\n    events:\n"
        f"      error_query: {bad_query}\n      total_query: sum(rate(lat_seconds_count[{{{{.window}}}}]))\n",
    )
    (reduce,) = [r for r in _recommendations(tmp_path, source) if r["kind"] == "reduce_buckets"]
    assert reduce["risk_level"] == level
    assert ("SLO" in str(reduce["risk"])) == (level == "slo")
