"""The weekly job: trends between snapshots, budgets, Markdown, Pushgateway, Parquet, retention."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

import costscope
from costscope.cli import app
from costscope.errors import ConfigError
from costscope.recommend.budgets import parse_budgets
from costscope.report.markdown import markdown_summary, md
from costscope.store import Store
from tests import servers


def _exposition(users: int, extra_metric: bool, new_label: bool) -> str:
    lines = ["# TYPE api_requests_total counter"]
    for u in range(users):
        region = ',region="eu"' if new_label else ""
        lines.append(f'api_requests_total{{job="api",route="/r{u % 3}",user="u{u}"{region}}} 1')
    lines.append("# TYPE queue_depth gauge")
    lines += [f'queue_depth{{job="q",queue="q{i}"}} 1' for i in range(10)]
    if extra_metric:
        lines.append("# TYPE cache_items gauge")
        lines += [f'cache_items{{job="c",shard="{i}"}} 1' for i in range(40)]
    return "\n".join(lines) + "\n"


def _two_snapshots(tmp_path: Path, runner: CliRunner) -> Path:
    """A snapshot, moved a week back, then a grown one."""
    db = tmp_path / "db"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "m.prom").write_text(_exposition(100, False, False))
    (tmp_path / "b" / "m.prom").write_text(_exposition(300, True, True))
    assert runner.invoke(app, ["analyze", str(tmp_path / "a"), "--db", str(db), "-q"]).exit_code == 0
    with duckdb.connect(str(db)) as conn:
        conn.execute("UPDATE snapshots SET started_at = started_at - INTERVAL 8 DAY")
    assert runner.invoke(app, ["analyze", str(tmp_path / "b"), "--db", str(db), "-q"]).exit_code == 0
    return db


def test_trends_against_a_week_earlier(tmp_path: Path, runner: CliRunner) -> None:
    db = _two_snapshots(tmp_path, runner)
    a = costscope.open(db).analysis()
    t = a.trends
    assert t is not None and t.baseline_id == 1
    metrics = {r["key"]: r for r in t.changes.filter(pl.col("dimension") == "metric").iter_rows(named=True)}
    assert (
        metrics["api_requests_total"]["volume_before"] == 100
        and metrics["api_requests_total"]["volume_after"] == 300
    )
    assert metrics["cache_items"]["status"] == "new" and metrics["queue_depth"]["status"] == "same"
    labels = {
        r["key"]: r["status"] for r in t.changes.filter(pl.col("dimension") == "label").iter_rows(named=True)
    }
    assert labels["region"] == "new"
    churn = {r["metric"]: (r["appeared"], r["disappeared"]) for r in t.churn.iter_rows(named=True)}
    # every api series changed identity (a region label was added): 300 appeared, 100 disappeared
    assert churn == {"api_requests_total": (300, 100), "cache_items": (40, 0)}
    assert t.growers("metric", 1)["key"][0] == "api_requests_total"
    history = costscope.open(db).query("SELECT count(DISTINCT snapshot_id) AS n FROM snapshot_costs")
    assert history["n"][0] == 2


BUDGETS = """\
budgets:
  - name: no metric above 200 series
    kind: metric_series
    max: 200
  - {name: no new label with 50+ values, kind: new_label_values, max: 50, severity: warning}
  - {name: under a cent, kind: team_cost, team: (unowned), max: 100000}
"""


def test_budget_breach_exits_1_naming_what_and_the_fix(tmp_path: Path, runner: CliRunner) -> None:
    db = _two_snapshots(tmp_path, runner)
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
    md_path = tmp_path / "summary.md"
    result = runner.invoke(
        app,
        ["analyze", str(tmp_path / "b"), "--db", str(db), "--budgets", str(tmp_path / "budgets.yaml"),
         "--markdown", str(md_path), "--json", str(tmp_path / "o.json"), "--no-color"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "over budget [critical] no metric above 200 series: api_requests_total at 300 (limit 200)" in flat
    assert "fix: #1" in flat
    assert "[warning] no new label with 50+ values: label user" not in flat  # user is not new
    import json

    breaches = json.loads((tmp_path / "o.json").read_text())["budgets"]
    assert [b["target"] for b in breaches] == ["api_requests_total"]
    text = md_path.read_text()
    assert "### Over budget (1)" in text and "api\\_requests\\_total" in text and "### What grew" in text


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [
        ("budgets:\n  - {kind: series, max: 1}\n", 2, "unknown budget kind"),
        ("budgets:\n  - {kind: metric_series}\n", 2, "needs max"),
        ("budgets:\n  - {kind: team_cost, max: 5}\n", 2, "needs team"),
        ("budgets:\n  - {kind: signal_cost, signal: money, max: 5}\n", 2, "metrics, logs or traces"),
        ("budgets:\n  - {kind: metric_series, max: 5, severity: huge}\n", 2, "severity"),
        ("budget: []\n", 1, "unknown key"),
    ],
)
def test_invalid_budgets(text: str, line: int, phrase: str) -> None:
    with pytest.raises(ConfigError, match=phrase) as err:
        parse_budgets(text, "b.yaml")
    assert err.value.line == line and err.value.file == "b.yaml"


def test_markdown_escapes_untrusted_names() -> None:
    assert (
        md("[click](http://x) *bold* <script> a|b") == "\\[click\\](http://x) \\*bold\\* \\<script\\> a\\|b"
    )


def test_markdown_of_the_demo(tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_DATA

    text = markdown_summary(costscope.analyze([str(SAMPLE_DATA)], db=tmp_path / "db").analysis())
    assert text.startswith("## costscope: $") and "### Do first" in text


def test_export_parquet_round_trips(tmp_path: Path, runner: CliRunner) -> None:
    db = _two_snapshots(tmp_path, runner)
    out = tmp_path / "pq"
    assert runner.invoke(app, ["export", "--parquet", str(out), "--db", str(db)]).exit_code == 0
    assert (out / "metric_series" / f"snapshot_date={_date(db, 2)}" / "source=b").is_dir()
    with duckdb.connect() as conn:
        back = conn.sql(
            f"SELECT snapshot_id, family, count(*) AS n FROM read_parquet('{out}/metric_series/**/*.parquet',"
            " hive_partitioning = true) GROUP BY ALL ORDER BY ALL"
        ).pl()
    with Store.open(db, read_only=True) as store:
        orig = store.query(
            "SELECT snapshot_id, family, count(*) AS n FROM metric_series GROUP BY ALL ORDER BY ALL"
        )
    assert back.equals(orig)


def _date(db: Path, snapshot_id: int) -> str:
    with Store.open(db, read_only=True) as store:
        return str(
            store.query(
                "SELECT strftime(started_at, '%Y-%m-%d') AS d FROM snapshots WHERE id = ?", [snapshot_id]
            )["d"][0]
        )


def test_prune_keeps_newer_snapshots_intact(tmp_path: Path, runner: CliRunner) -> None:
    db = _two_snapshots(tmp_path, runner)
    with Store.open(db, read_only=True) as store:
        before = store.query("SELECT * FROM series_labels WHERE snapshot_id = 2 ORDER BY ALL")
    result = runner.invoke(app, ["prune", "--keep", "7d", "--db", str(db)])
    assert result.exit_code == 0 and "deleted 1 snapshot(s): 1" in result.output
    with Store.open(db, read_only=True) as store:
        assert store.snapshots()["id"].to_list() == [2]
        for table in ("metric_series", "series_labels", "snapshot_costs", "recommendations"):
            assert store.query(f"SELECT count(*) AS n FROM {table} WHERE snapshot_id = 1")["n"][0] == 0
        assert store.query("SELECT * FROM series_labels WHERE snapshot_id = 2 ORDER BY ALL").equals(before)
    # the newest complete snapshot is never pruned
    assert "deleted 0" in runner.invoke(app, ["prune", "--keep", "1ms", "--db", str(db)]).output
    assert runner.invoke(app, ["prune", "--keep", "soon", "--db", str(db)]).exit_code == 2


@pytest.mark.servers
def test_costscope_pushes_its_figures_to_a_real_pushgateway(tmp_path: Path, runner: CliRunner) -> None:
    with servers.pushgateway(tmp_path) as gw:
        (tmp_path / "m.prom").write_text(_exposition(50, True, False))
        host = gw.url.removeprefix("http://")
        with servers.prometheus(tmp_path, {"pushgateway": [host]}) as prom:
            cfg = tmp_path / "costscope.yaml"
            cfg.write_text(f"push:\n  url: {gw.url}\n  instance: weekly\n")
            result = runner.invoke(app, ["analyze", str(tmp_path / "m.prom"), "--db", str(tmp_path / "db"),
                                         "--config", str(cfg), "-q"])  # fmt: skip
            assert result.exit_code == 0, result.output
            servers.wait_for(lambda: servers.prom_count(prom.url, "costscope_monthly_cost") > 0)
            answer = httpx.get(prom.url + "/api/v1/query", params={"query": "costscope_active_series"}).json()
            (sample,) = answer["data"]["result"]
            # without honor_labels Prometheus keeps the pushed grouping key as exported_*
            assert sample["metric"]["exported_instance"] == "weekly"
            assert sample["metric"]["exported_job"] == "costscope"
            assert float(sample["value"][1]) == 50 + 10 + 40
            stages = servers.prom_count(prom.url, "costscope_run_duration_seconds")
            assert stages >= 2


def test_analyze_reads_exports_of_many_clusters_back(tmp_path: Path, runner: CliRunner) -> None:
    exports = tmp_path / "exports"
    for cluster, users in (("eu", 30), ("us", 70)):
        (tmp_path / cluster).mkdir()
        (tmp_path / cluster / "m.prom").write_text(_exposition(users, False, False))
        db = tmp_path / f"{cluster}.db"
        assert runner.invoke(app, ["analyze", str(tmp_path / cluster), "--db", str(db), "-q"]).exit_code == 0
        assert (
            runner.invoke(app, ["export", "--parquet", str(exports / cluster), "--db", str(db)]).exit_code
            == 0
        )
    ws = costscope.analyze([str(exports)], db=tmp_path / "all.db")
    metrics = dict(ws.top_metrics().select("metric", "series").iter_rows())
    assert metrics == {"api_requests_total": 100, "queue_depth": 20}  # both clusters, sources kept apart
    assert set(ws.analysis().sources["source"]) == {"eu", "us"}
    assert ws.analysis().status == "complete"
    # the imported rows are keyed by family as collected ones are: label economics agree
    direct = costscope.analyze([str(tmp_path / "eu"), str(tmp_path / "us")], db=tmp_path / "direct.db")
    columns = ["metric", "label", "series_before", "series_after", "label_values"]
    assert (
        ws.label_drops()
        .select(columns)
        .sort(columns)
        .equals(direct.label_drops().select(columns).sort(columns))
    )
    assert ws.label_drops().filter(pl.col("label") == "user")["series_before"].to_list() == [100]


def _openmetrics(path: Path, at: int, users: int, extra: bool) -> Path:
    """An OpenMetrics file of ten minutes of samples ending at ``at`` (for promtool backfill)."""
    lines = ["# TYPE api_requests counter"]
    for u in range(users):
        lines += [f'api_requests_total{{job="api",user="u{u}"}} {i} {at - 600 + i * 60}' for i in range(10)]
    if extra:
        lines.append("# TYPE cache_items gauge")
        for s in range(25):
            lines += [f'cache_items{{job="c",shard="{s}"}} 1 {at - 600 + i * 60}' for i in range(10)]
    path.write_text("\n".join(lines) + "\n# EOF\n")
    return path


@pytest.mark.servers
def test_two_snapshots_of_a_real_prometheus_a_week_apart(tmp_path: Path, runner: CliRunner) -> None:
    """History loaded with promtool at two times: a week ago 40 users; now 120 users and a new metric."""
    import time

    now = int(time.time())
    workdir = tmp_path / "prom"
    (workdir / "data").mkdir(parents=True)
    db = tmp_path / "db"
    loads = ((now - 8 * 86400, 40, False, "9d"), (now - 3600, 120, True, "2h"))
    for i, (at, users, extra, window) in enumerate(loads):
        servers.promtool_backfill(_openmetrics(tmp_path / f"{i}.om", at, users, extra), workdir / "data")
        with servers.prometheus(workdir) as prom:  # restarted on the same data: it loads the new block
            cfg = tmp_path / f"c{i}.yaml"
            cfg.write_text(f"sources:\n  - {{name: prom, url: '{prom.url}', lookback: {window}}}\n")
            result = runner.invoke(app, ["analyze", "--config", str(cfg), "--db", str(db), "-q"])
            assert result.exit_code == 0, result.output
        if i == 0:  # the first run happened a week ago
            with duckdb.connect(str(db)) as conn:
                conn.execute("UPDATE snapshots SET started_at = started_at - INTERVAL 8 DAY")
    t = costscope.open(db).analysis().trends
    assert t is not None and t.baseline_id == 1
    m = {r["key"]: r for r in t.changes.filter(pl.col("dimension") == "metric").iter_rows(named=True)}
    assert (m["api_requests_total"]["volume_before"], m["api_requests_total"]["volume_after"]) == (40, 120)
    assert m["cache_items"]["status"] == "new" and m["cache_items"]["volume_after"] == 25
    churn = {r["metric"]: (r["appeared"], r["disappeared"]) for r in t.churn.iter_rows(named=True)}
    assert churn["api_requests_total"] == (80, 0)  # users u40..u119 appeared; u0..u39 are still there


def test_an_export_from_an_older_schema_reads_back(tmp_path: Path, runner: CliRunner) -> None:
    """usage_refs exported before it had ``bounds``: the column stays empty, the rest reads."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "m.prom").write_text(_exposition(10, False, False))
    (tmp_path / "m" / "rules.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: Busy\n    expr: sum(api_requests_total) > 5\n"
    )
    db, out = tmp_path / "db", tmp_path / "export"
    assert runner.invoke(app, ["analyze", str(tmp_path / "m"), "--db", str(db), "-q"]).exit_code == 0
    assert runner.invoke(app, ["export", "--parquet", str(out), "--db", str(db)]).exit_code == 0
    with duckdb.connect() as conn:
        for f in (out / "usage_refs").rglob("*.parquet"):
            conn.execute(
                f"COPY (SELECT * EXCLUDE (bounds) FROM read_parquet('{f}')) TO '{f}.old' (FORMAT parquet)"
            )
            f.unlink()
            Path(f"{f}.old").rename(f)
    costscope.analyze([str(out)], db=tmp_path / "back.db")
    with Store.open(tmp_path / "back.db", read_only=True) as store:
        refs = store.query("SELECT metric, bounds FROM usage_refs")
    assert refs["metric"].to_list() == ["api_requests_total"] and refs["bounds"].to_list() == [None]
