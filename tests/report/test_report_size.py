"""The report's size is bounded by what it keeps (metrics, statements, operations), never by series."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.cli import app
from tests.conftest import SAMPLE_DATA
from tests.synthetic import write_fleet

PLOTLY_JS = len((importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes())


def _report(tmp_path: Path, source: Path) -> int:
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["analyze", str(source), "--db", str(tmp_path / "db"), "--report", str(report), "-q"]
    )
    assert result.exit_code in (0, 3), result.output
    return report.stat().st_size


def test_the_demo_report_is_plotly_and_a_few_hundred_kilobytes(tmp_path: Path) -> None:
    assert _report(tmp_path, SAMPLE_DATA) - PLOTLY_JS < 500_000  # measured 0.28 MB


@pytest.mark.slow
def test_a_million_series_report_stays_within_its_budget(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet.prom", 1_000_000)
    assert _report(tmp_path, fleet) - PLOTLY_JS < 1_500_000
