"""sample_data/ is exactly what its generator writes, and costscope counts it right."""

from __future__ import annotations

import filecmp
from pathlib import Path

import polars as pl

import costscope
from scripts.generate_sample_data import generate
from tests.conftest import SAMPLE_DATA


def _tree(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_sample_data_is_the_generators_output(tmp_path: Path) -> None:
    generate(tmp_path)
    assert _tree(tmp_path) == _tree(SAMPLE_DATA)
    mismatched = [p for p in _tree(tmp_path) if not filecmp.cmp(tmp_path / p, SAMPLE_DATA / p, shallow=False)]
    assert mismatched == []


def test_series_per_job_match_the_generators_ground_truth(tmp_path: Path) -> None:
    truth = generate(tmp_path / "demo")
    ws = costscope.analyze([str(tmp_path / "demo")], db=tmp_path / "d.duckdb")
    by_job = dict(ws.series_by_job().group_by("job").agg(pl.col("series").sum()).iter_rows())
    assert by_job == truth
