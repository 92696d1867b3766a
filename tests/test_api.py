"""The public Python API: a small, sorted surface that returns polars frames."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import costscope
from tests.conftest import SAMPLE_DATA


def test_all_is_sorted_and_importable() -> None:
    assert costscope.__all__ == sorted(costscope.__all__)
    for name in costscope.__all__:
        assert hasattr(costscope, name), name


def test_every_public_function_has_a_docstring() -> None:
    import inspect

    for name in costscope.__all__:
        obj = getattr(costscope, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__, name
    for name, member in inspect.getmembers(costscope.Workspace, inspect.isfunction):
        if not name.startswith("_"):
            assert member.__doc__, name


def test_analyze_then_open_read_the_same_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "api.duckdb"
    ws = costscope.analyze([str(SAMPLE_DATA)], db=db)
    fresh = costscope.open(db)
    for method in ("top_metrics", "label_drops", "labels", "recommendations", "series_by_job", "errors"):
        frame = getattr(fresh, method)()
        assert isinstance(frame, pl.DataFrame), method
    assert ws.top_metrics()["series"].sum() == fresh.top_metrics()["series"].sum() == 28_570
    assert fresh.snapshots()["status"].to_list() == ["complete"]
    assert fresh.query("SELECT count(*) AS n FROM metric_series")["n"][0] == 28_570


def test_open_a_missing_database_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(costscope.StoreError, match="run costscope analyze first"):
        costscope.open(tmp_path / "nope.duckdb")


def test_library_and_cli_give_the_same_document_with_a_discovered_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./costscope.yaml prices and attributes alike from a notebook and from the command."""
    import json
    import subprocess
    import sys

    from costscope.report.json_doc import json_document

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTSCOPE_CONFIG", raising=False)
    (tmp_path / "costscope.yaml").write_text(
        "pricing:\n  preset: grafana-cloud\n  overrides: {active_series: 0.02}\n"
        "ownership:\n  - team: storefront\n    match: {job: 'frontend|kafka'}\n"
    )
    source = str(SAMPLE_DATA / "metrics")
    ws = costscope.analyze([source], db=tmp_path / "lib.duckdb")
    ours = json_document(ws.analysis())
    subprocess.run(
        [sys.executable, "-m", "costscope", "analyze", source, "--db", str(tmp_path / "cli.duckdb"),
         "--json", str(tmp_path / "cli.json"), "--report", str(tmp_path / "r.html"), "-q"],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    theirs = json.loads((tmp_path / "cli.json").read_text())
    for key in ("generated_at", "snapshot", "timings", "sources"):
        ours.pop(key), theirs.pop(key)
    assert ours["cost_model"]["overridden"] == ["active_series"]
    assert {t["team"] for t in ours["teams"]} >= {"storefront"}
    assert json.loads(json.dumps(ours)) == theirs


def test_write_report_from_python(tmp_path: Path) -> None:
    ws = costscope.analyze([str(SAMPLE_DATA / "metrics")], db=tmp_path / "db")
    path = costscope.write_report(ws, tmp_path / "report.html")
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and "costscope report" in html


def test_simulate_traces_from_python_is_what_the_command_prints(tmp_path: Path) -> None:
    sim = costscope.simulate_traces([str(SAMPLE_DATA / "traces")], db=tmp_path / "db")
    assert sim.recommended is not None
    assert sim.summary["policy"].to_list()  # the policies side by side, as the table shows them
    assert set(sim.summary.columns) >= {
        "kept_share",
        "monthly_cost",
        "error_traces_kept",
        "meets_constraints",
    }
