"""``costscope diff``: two exposition files (or a snapshot and a file), golden terminal and
Markdown output, the JSON keys, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.cli import app

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = bool(os.environ.get("COSTSCOPE_UPDATE_GOLDEN"))

BASE = "".join(
    ["# TYPE http_requests_total counter\n"]
    + [f'http_requests_total{{job="api",route="/r{r}"}} 1\n' for r in range(5)]
    + ["# TYPE db_queries_total counter\n", 'db_queries_total{job="db"} 1\n']
)
HEAD = "".join(
    ["# TYPE http_requests_total counter\n"]
    + [
        f'http_requests_total{{job="api",route="/r{r}",user_id="u{u:05d}"}} 1\n'
        for r in range(5)
        for u in range(30)
    ]
    + ["# TYPE checkout_sessions gauge\n"]
    + [f'checkout_sessions{{job="api",region="{z}"}} 1\n' for z in ("eu", "us")]
)


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Path, Path]:
    base, head = tmp_path / "base.prom", tmp_path / "head.prom"
    base.write_text(BASE)
    head.write_text(HEAD)
    return base, head


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with COSTSCOPE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_diff_of_two_files_terminal_markdown_and_json(
    sides: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the sides named as a CI job names them: relative paths
    md, js = tmp_path / "comment.md", tmp_path / "diff.json"
    result = CliRunner().invoke(
        app,
        ["diff", "base.prom", "head.prom", "--no-color", "--markdown", str(md), "--json", str(js)],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 0, result.output
    _golden("diff.txt", result.output)
    _golden("diff.md", md.read_text())
    doc = json.loads(js.read_text())
    assert (doc["series_before"], doc["series_after"]) == (6, 152)
    status = {m["metric"]: m["status"] for m in doc["metrics"]}
    assert status == {
        "http_requests_total": "changed",
        "checkout_sessions": "new",
        "db_queries_total": "gone",
    }
    assert [(n["metric"], n["label"], n["label_values"]) for n in doc["new_labels"]] == [
        ("http_requests_total", "user_id", 30)
    ]
    (risky,) = doc["risky_labels_introduced"]
    assert risky["label"] == "user_id" and "u0" not in str(risky["example"]).replace("u0…", "")
    assert "u00001" not in result.output and "u00001" not in md.read_text()  # values stay masked


def test_a_budget_breached_on_head_exits_1(sides: tuple[Path, Path], tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("budgets:\n  - {name: small metrics, kind: metric_series, max: 100}\n")
    result = CliRunner().invoke(app, ["diff", *map(str, sides), "--budgets", str(budgets), "--no-color"])
    assert result.exit_code == 1, result.output
    assert "over budget" in result.output and "http_requests_total" in result.output


def test_a_snapshot_id_against_a_file(sides: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = sides
    db = tmp_path / "c.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["scrape", str(base), "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["diff", "1", str(head), "--db", str(db), "--json", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["series_before"] == 6


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        (["diff", "missing.prom", "also-missing.prom"], 2, "missing.prom"),
        (["diff", "7", "head.prom"], 2, "snapshot id"),
        (["diff", "bad.prom", "head.prom"], 2, "bad.prom:2"),
        (["diff", "http://127.0.0.1:9/metrics", "head.prom"], 3, "127.0.0.1:9"),
    ],
)
def test_bad_sides_exit_with_the_documented_codes(
    sides: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    phrase: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.prom").write_text('# TYPE x counter\nx{a="1" 1\n')
    result = CliRunner().invoke(app, [*args, "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == code, result.output
    assert phrase in result.output


def test_the_library_gives_what_the_command_prints(sides: tuple[Path, Path]) -> None:
    import costscope

    result = costscope.diff(*map(str, sides))
    assert (result.series_before, result.series_after) == (6, 152)
    assert result.risky_introduced["label"].to_list() == ["user_id"]
