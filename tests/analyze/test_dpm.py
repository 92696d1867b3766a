"""Data points per minute: a vendor that bills the higher of series and DPM, on the demo's scrapes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import costscope
from tests.conftest import SAMPLE_DATA


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> costscope.Workspace:
    return costscope.analyze([str(SAMPLE_DATA)], db=tmp_path_factory.mktemp("dpm") / "d.duckdb")


def test_jobs_scraped_every_15s_cost_four_times_their_series(ws: costscope.Workspace) -> None:
    a = ws.analysis()
    dpm = dict(a.dpm.select("job", "factor").iter_rows())
    assert dpm["api-gateway"] == pytest.approx(4.0)  # the recording says 15s
    assert "frontend" not in dpm  # read from files: no scrape stats, billed on series
    per_series = a.cost_model.series_cost(1.0)
    by_job = a.by_job.group_by("job").agg(pl.col("series").sum(), pl.col("monthly_cost").sum())
    costs = {j: (s, c) for j, s, c in by_job.iter_rows()}
    assert costs["api-gateway"][1] == pytest.approx(costs["api-gateway"][0] * per_series * 4.0)
    assert costs["frontend"][1] == pytest.approx(costs["frontend"][0] * per_series)
    # the totals agree whichever way they are cut
    assert a.total_monthly_cost == pytest.approx(float(a.by_job["monthly_cost"].sum()))


def test_scrape_interval_recommendation_saves_three_quarters_of_the_job(ws: costscope.Workspace) -> None:
    a = ws.analysis()
    recs = a.recommendations.filter(pl.col("kind") == "scrape_interval")
    row = recs.filter(pl.col("target") == "job api-gateway every 60s").row(0, named=True)
    job_cost = float(a.by_job.filter(pl.col("job") == "api-gateway")["monthly_cost"].sum())
    assert row["monthly_savings"] == pytest.approx(job_cost * 0.75, abs=0.01)


def test_a_model_without_dpm_billing_charges_series_only(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("pricing:\n  preset: datadog\n")
    a = costscope.analyze([str(SAMPLE_DATA)], db=tmp_path / "dd.duckdb", config=cfg).analysis()
    assert set(a.dpm["factor"]) == {1.0}
    assert a.recommendations.filter(pl.col("kind") == "scrape_interval").is_empty()
