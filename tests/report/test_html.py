"""The HTML report in real headless Chromium: charts render offline, hostile values stay text."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costscope.cli import app
from tests import servers
from tests.conftest import ROOT, SAMPLE_DATA

ARTIFACTS = ROOT / "test-artifacts"
XSS = [
    "<script>document.title='pwned'</script>",
    '"><img src=x onerror="document.title=\'pwned\'">',
    "{{constructor.constructor('document.title=1')()}}",
    "</script><script>document.title='pwned'</script>",
    "javascript:alert(1)",
]


def _chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    binary = servers.require_binary("chromium")
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _report(tmp_path: Path, source: Path) -> Path:
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["analyze", str(source), "--db", str(tmp_path / "r.duckdb"), "--report", str(report), "-q"],
    )
    assert result.exit_code == 0, result.output
    return report


@pytest.mark.servers
def test_sample_report_renders_every_chart_offline(tmp_path: Path) -> None:
    report = _report(tmp_path, SAMPLE_DATA)
    dom = _chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    # no script error, and nothing the Content-Security-Policy had to refuse
    assert not [line for line in console if "Uncaught" in line or "Refused" in line or "Error" in line], (
        console
    )
    for chart in ("chart-top-metrics", "chart-treemap", "chart-labels"):
        assert f'id="{chart}"' in dom.stdout
    # plotly draws an <svg class="main-svg"> per chart once its script has run
    assert dom.stdout.count('class="main-svg"') >= 3
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-sample_data.png"
    result = _chromium([f"--screenshot={shot}", "--window-size=1400,2400", report.as_uri()], tmp_path)
    assert result.returncode == 0 and shot.stat().st_size > 10_000


@pytest.mark.servers
def test_hostile_label_values_stay_inert_text(tmp_path: Path) -> None:
    lines = ["# TYPE hostile_total counter"]
    for i, payload in enumerate(XSS * 5):
        esc = payload.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'hostile_total{{note="{esc}{i}",path="/p"}} 1')
    src = tmp_path / "hostile.prom"
    src.write_text("\n".join(lines) + "\n")
    report = _report(tmp_path, src)
    html = report.read_text()
    assert "<script>document.title" not in html and "<img src=x" not in html
    dom = _chromium(["--dump-dom", report.as_uri()], tmp_path)
    assert dom.returncode == 0
    assert "<title>costscope report" in dom.stdout and "pwned" not in dom.stdout.split("</title>")[0]
    assert '<img src="x"' not in dom.stdout
    # shown as text: escaped in the page, not parsed as markup
    assert "&lt;script&gt;document.title=" in dom.stdout


@pytest.mark.servers
def test_hostile_log_lines_span_names_and_dashboard_titles_stay_inert(tmp_path: Path) -> None:
    """The XSS corpus in every untrusted string the report shows: label values are covered above."""
    import json

    src = tmp_path / "hostile"
    src.mkdir()
    (src / "m.prom").write_text('# TYPE up gauge\nup{job="x"} 1\n')
    log_lines = [
        json.dumps({"level": "debug", "service": p, "msg": f"{p} user {i}"}) for i, p in enumerate(XSS * 40)
    ]
    (src / "app.jsonl").write_text("\n".join(log_lines) + "\n")
    spans = []
    for i, p in enumerate(XSS * 4):
        tid = f"{i + 1:032x}"
        spans.append({"traceId": tid, "id": tid[16:], "name": p, "timestamp": 1764064800000000 + i,
                      "duration": 1000 + i, "localEndpoint": {"serviceName": p}, "tags": {"error": "true"} if i % 3 == 0 else {}})  # fmt: skip
    (src / "t.zipkin.json").write_text(json.dumps(spans))
    board = {"title": XSS[1], "panels": [{"title": XSS[0], "targets": [{"expr": "up{job=\"" + XSS[3] + "\"}"},
                                                                        {"expr": "sum(" + XSS[0] + ")"}]}]}  # fmt: skip
    (src / "board.json").write_text(json.dumps(board))
    report = _report(tmp_path, src)
    html = report.read_text()
    for raw in ("<script>document.title", "<img src=x", "</script><script>"):
        assert raw not in html
    dom = _chromium(["--dump-dom", report.as_uri()], tmp_path)
    assert dom.returncode == 0
    assert "pwned" not in dom.stdout.split("</title>")[0]
    assert '<img src="x"' not in dom.stdout
    for section in ('id="logs"', 'id="traces"', 'id="usage"'):
        assert section in dom.stdout
    assert dom.stdout.count("&lt;script&gt;document.title=") >= 3  # shown as text in several sections


def test_a_huge_label_value_is_cut_for_display(tmp_path: Path) -> None:
    huge = "x" * 600_000
    (tmp_path / "m.prom").write_text(f'big{{note="{huge}"}} 1\nbig{{note="small"}} 1\n')
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["analyze", str(tmp_path / "m.prom"), "--db", str(tmp_path / "db"), "--report", str(report), "-q",
         "--show-values"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = report.read_text()
    assert "(600,000 characters)" in html
    assert huge not in html


@pytest.mark.parametrize("writable", [True, False])
def test_compiled_templates_are_kept_between_reports_where_the_cache_can_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writable: bool
) -> None:
    from costscope.report.html import page

    base = tmp_path / "cache"
    if not writable:
        base.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(base))
    page._environment.cache_clear()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        first = _report(tmp_path / "a", SAMPLE_DATA).read_text()
        kept = sorted(base.rglob("__jinja2_*.cache")) if writable else []
        page._environment.cache_clear()  # a new process: the templates come from the cache
        second = _report(tmp_path / "b", SAMPLE_DATA).read_text()
    finally:
        page._environment.cache_clear()
    assert (len(kept) >= 13) is writable  # the page, its macros and every section
    assert first.count("<section") == second.count("<section") > 5


def test_no_home_directory_means_no_template_cache_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from costscope.report.html import page

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert page._template_cache() is None
