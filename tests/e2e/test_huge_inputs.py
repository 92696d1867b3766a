"""Huge and deep inputs are refused (or cut) with a clear error, within bounded memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from costscope.errors import ParseError
from costscope.sources.dashboards import read_dashboard_file
from costscope.sources.traces import read_trace_file

HUGE = 300 << 20  # a 300 MB label value: the test's point is that it is never held whole


def _run(code: str) -> tuple[str, float]:
    """Run ``code`` in a fresh interpreter: (its output, its peak RSS in MiB)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    out = done.stdout.strip().splitlines()
    return "\n".join(out[:-1]), float(out[-1])


@pytest.mark.slow
def test_a_huge_label_value_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.prom"
    with path.open("w") as fh:
        fh.write('# TYPE ok gauge\nok 1\n# TYPE big gauge\nbig{v="')
        chunk = "x" * (1 << 20)
        for _ in range(HUGE >> 20):
            fh.write(chunk)
        fh.write('"} 1\n')
    code = (
        "import resource, costscope\n"
        "try:\n"
        f"    ws = costscope.analyze([{str(path)!r}], db={str(tmp_path / 'db')!r})\n"
        "    print(' | '.join(ws.analysis().failures['message']))\n"  # the lines before it were kept
        "except costscope.CostscopeError as exc:\n"
        "    print(exc)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    message, rss = _run(code)
    assert "huge.prom:4" in message and "longer than" in message
    assert rss < 700  # the 300 MB line was never read whole


def test_a_huge_log_line_is_cut_not_held(tmp_path: Path) -> None:
    from costscope.sources.log_files import MAX_LINE_CHARS, read_log_file

    path = tmp_path / "app.log"
    path.write_text("INFO start\n" + "DEBUG " + "y" * (3 * MAX_LINE_CHARS) + "\nINFO end\n")
    lines = [c for chunk in read_log_file(path) for c in chunk["message"].to_list()]
    assert len(lines) == 3 and len(lines[1]) <= MAX_LINE_CHARS and lines[2] == "INFO end"


@pytest.mark.parametrize("reader", ["dashboard", "trace"])
def test_deeply_nested_json_is_a_parse_error(tmp_path: Path, reader: str) -> None:
    path = tmp_path / ("d.json" if reader == "dashboard" else "t.otlp.json")
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ParseError, match=r"nested too deeply|not a Grafana dashboard|malformed"):
        read_dashboard_file(path) if reader == "dashboard" else list(read_trace_file(path))
