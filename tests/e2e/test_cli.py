"""The costscope command: the demo end to end, help for every command, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope import __version__
from costscope.cli import app
from costscope.store import Store
from tests.conftest import SAMPLE_DATA
from tests.servers import free_port


def _costscope(*args: str) -> subprocess.CompletedProcess[str]:
    """Run costscope as its own process (stdout and stderr apart)."""
    return subprocess.run(
        [sys.executable, "-m", "costscope", *args], capture_output=True, text=True, timeout=120
    )


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"costscope {__version__}"


def test_every_command_has_help_text(runner: CliRunner) -> None:
    import typer.main

    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        assert command.help, name
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name


def test_analyze_with_nothing_explains_how_to_start(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 2
    assert "costscope analyze sample_data" in result.output


def test_analyze_sample_data_writes_report_json_and_snapshot(runner: CliRunner, tmp_path: Path) -> None:
    db, report, out = tmp_path / "c.duckdb", tmp_path / "r.html", tmp_path / "r.json"
    result = runner.invoke(
        app,
        ["analyze", str(SAMPLE_DATA), "--db", str(db), "--report", str(report), "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "http_requests_total" in result.output and "Report:" in result.output
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1
    assert {"metrics", "label_drops", "recommendations"} <= set(doc)
    assert {"metric", "series", "monthly_cost"} <= set(doc["metrics"][0])
    assert {"metric", "label", "series_before", "series_after"} <= set(doc["label_drops"][0])
    assert {"kind", "target", "monthly_savings", "risk", "config"} <= set(doc["recommendations"][0])
    top = doc["recommendations"][0]
    # the demo's dashboards, rules and SLOs read http_requests_total by job, route and status only
    assert top["target"] == "http_requests_total keeping job, route, status"
    assert top["kind"] == "keep_used_labels" and top["risk_level"] == "none"
    assert doc["usage"]["known"] and doc["usage"]["metrics_unused"] > 0
    html = report.read_text()
    assert "Plotly" in html  # plotly.js is inlined ...
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)  # ... nothing is fetched
    assert "Content-Security-Policy" in html
    with Store.open(db, read_only=True) as s:
        snaps = s.snapshots()
        assert snaps["status"].to_list() == ["complete"]
        timings = json.loads(snaps["stage_timings"][0])
        assert {"collect", "analyze", "report"} <= set(timings)
        assert s.query("SELECT count(*) AS n FROM recommendations")["n"][0] == len(doc["recommendations"])


def test_json_to_stdout_is_the_document_only(runner: CliRunner, tmp_path: Path) -> None:
    result = _costscope(
        "analyze", str(SAMPLE_DATA), "--db", str(tmp_path / "d.duckdb"), "--report", str(tmp_path / "r.html"),
        "--json", "-",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema_version"] == 1
    assert "Top metrics" in result.stderr


def test_a_failing_source_exits_3_and_keeps_a_partial_snapshot(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    cfg = tmp_path / "costscope.yaml"
    cfg.write_text(f"sources:\n  - name: dead\n    url: {dead}\n    retries: 1\n    timeout: 2s\n")
    result = runner.invoke(
        app,
        [
            "analyze",
            str(SAMPLE_DATA),
            "--config",
            str(cfg),
            "--db",
            str(db),
            "--report",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 3, result.output
    assert "dead" in result.output and "connection failed" in result.output
    with Store.open(db, read_only=True) as s:
        assert s.snapshots()["status"].to_list() == ["partial"]
        assert s.source_errors(1)["source"].to_list() == ["dead"]
    assert "source error" in (tmp_path / "r.html").read_text()


def test_bad_exposition_exits_2_naming_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.prom"
    bad.write_text("ok_metric 1\nbroken{a=1} 2\n")
    result = runner.invoke(app, ["scrape", str(bad), "--db", str(tmp_path / "b.duckdb")])
    assert result.exit_code == 3 or result.exit_code == 2, result.output
    assert f"{bad}:2" in result.output and "Traceback" not in result.output


def test_lenient_config_skips_bad_lines_and_counts_them(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.prom"
    bad.write_text("ok_metric 1\nbroken{a=1} 2\nother 3\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"sources:\n  - path: {bad}\n    lenient: true\n")
    db = tmp_path / "l.duckdb"
    result = runner.invoke(app, ["scrape", "--config", str(cfg), "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store.open(db, read_only=True) as s:
        row = s.snapshot_sources(1).row(0, named=True)
        assert (row["series"], row["skipped_lines"]) == (2, 1)


def test_snapshots_lists_runs(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    runner.invoke(app, ["scrape", str(SAMPLE_DATA), "--db", str(db)])
    result = runner.invoke(app, ["snapshots", "--db", str(db)])
    assert result.exit_code == 0 and "complete" in result.output


def test_json_log_lines_carry_the_run_id(tmp_path: Path) -> None:
    result = _costscope(
        "scrape", str(SAMPLE_DATA), "--db", str(tmp_path / "j.duckdb"), "--log-format", "json"
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines and len({line["run_id"] for line in lines}) == 1
    assert any(line.get("stage") == "collect" for line in lines)
    with Store.open(tmp_path / "j.duckdb", read_only=True) as s:
        assert s.snapshots()["run_id"][0] == lines[0]["run_id"]
