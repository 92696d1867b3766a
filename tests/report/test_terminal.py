"""The terminal summary beyond the golden run: inputs that have no metrics at all."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import costscope
from costscope.report.terminal import print_summary
from tests.conftest import SAMPLE_DATA


@pytest.mark.parametrize("folder", ["traces", "logs"])
def test_a_run_without_metrics_shows_no_empty_metric_table(tmp_path: Path, folder: str) -> None:
    analysis = costscope.analyze([str(SAMPLE_DATA / folder)], db=tmp_path / "db").analysis()
    assert analysis.metrics.is_empty()
    console = Console(width=100, no_color=True, record=True, file=io.StringIO())
    print_summary(analysis, console)
    text = console.export_text()
    assert "Top metrics by cost" not in text
    assert "label cut" not in text  # nothing says no metric could be cut when there were none


def test_a_file_read_with_a_caveat_is_not_said_to_have_given_nothing(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "split.prom").write_text('# HELP m a\nm 1\n# HELP m b\nm{x="y"} 2\n')
    (inputs / "LICENSE").write_text("Apache License\nVersion 2.0\n")
    analysis = costscope.analyze([str(inputs)], db=tmp_path / "db").analysis()
    assert analysis.total_series == 2
    console = Console(width=200, no_color=True, record=True, file=io.StringIO())
    print_summary(analysis, console)
    text = console.export_text()
    assert "2 input warning(s):" in text and "read nothing" not in text
    assert "split.prom:3: read as Prometheus scrapes it" in text


def test_a_hundred_broken_files_are_twenty_lines_and_a_count(tmp_path: Path) -> None:
    """The OpenMetrics suite's 108 bad cases: the terminal names 20, the JSON and report all."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.prom").write_text("up 1\n")
    for i in range(25):
        (inputs / f"bad{i:02}.prom").write_text(f"up{{job=}} {i}\n")
    analysis = costscope.analyze([str(inputs)], db=tmp_path / "db").analysis()
    assert analysis.failures.height == 25
    console = Console(width=300, no_color=True, record=True, file=io.StringIO())
    print_summary(analysis, console)
    text = console.export_text()
    assert "25 source error(s)" in text and text.count("✗") == 20
    assert "bad19.prom" in text and "bad20.prom" not in text and "… and 5 more" in text
