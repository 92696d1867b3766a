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
