"""The offline HTML report: one self-contained file, plotly.js inlined, no network at all.

This module is the page; each section is built by its own module (``metrics``, ``quality``,
``usage``, ``logs``, ``traces``, ``trends``).

Order follows the questions people ask: what's broken (data quality first when a source failed),
what it costs and what to cut first, then the detail. Every label name, value and metric name is
untrusted text: it is escaped for HTML here and before it reaches plotly (whose labels accept
a subset of HTML). A Content-Security-Policy forbids any network access from the page.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from plotly.offline import get_plotlyjs

from costscope._version import __version__
from costscope.analyze import Analysis
from costscope.report.html.figures import charts, figure_div
from costscope.report.html.logs import logs_section
from costscope.report.html.metrics import (
    dpm_section,
    headline_section,
    histograms_section,
    labels_section,
    metrics_section,
    recommendations_section,
    teams_section,
)
from costscope.report.html.quality import quality_section
from costscope.report.html.tables import esc
from costscope.report.html.traces import traces_section
from costscope.report.html.trends import trends_section
from costscope.report.html.usage import usage_section

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; "
    "base-uri 'none'"
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c7cdd4;font-size:13px}
main{padding:16px 32px;max-width:1280px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;margin:16px 0;padding:16px 20px}
h2{font-size:18px;margin:0 0 12px}.kpis{display:flex;gap:16px;flex-wrap:wrap}
.kpi{flex:1;min-width:160px;border:1px solid #dde1e6;border-radius:6px;padding:10px 14px}
.kpi b{display:block;font-size:22px}.kpi span{color:#5f6b7a;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{cursor:pointer;background:#f0f2f5;user-select:none}td.n,th.n{text-align:right}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:8px;font-size:12px;overflow:auto;margin:4px 0}
.bad{color:#b42318}.ok{color:#067647}.muted{color:#5f6b7a;font-size:12px}
details summary{cursor:pointer;color:#2457c5}
"""

# Sortable tables without any library: click a header to sort by it.
_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, i){
  th.addEventListener('click', function(){
    var tb = th.closest('table').tBodies[0], rows = Array.prototype.slice.call(tb.rows);
    var asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
    rows.sort(function(a, b){
      var x = a.cells[i].dataset.v || a.cells[i].textContent, y = b.cells[i].dataset.v || b.cells[i].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function(r){ tb.appendChild(r); });
  });
});
"""


def render_report(a: Analysis, history: pl.DataFrame | None = None) -> str:
    """The whole report as one HTML string."""
    figures = charts(a)
    past = history if history is not None else pl.DataFrame(schema={"snapshot_id": pl.Int64})
    sections = [
        ("headline", "Headline", headline_section(a)),
        ("data-quality", "Data quality", quality_section(a)),
        ("metrics", "Metrics", metrics_section(a, figures)),
        ("dpm", "Scrape rates", dpm_section(a)),
        ("histograms", "Histograms and summaries", histograms_section(a)),
        ("labels", "Labels", labels_section(a, figures)),
        ("teams", "Teams", teams_section(a)),
        ("recommendations", "Recommendations", recommendations_section(a)),
        ("usage", "Usage", usage_section(a)),
        ("logs", "Logs", logs_section(a, figure_div)),
        ("traces", "Traces", traces_section(a, figure_div)),
        ("trends", "What changed", trends_section(a, past, figure_div)),
    ]
    order = [sid for sid, _, _ in sections]
    if a.trends is not None:  # the weekly question comes first: what changed, and who is over budget
        sections.insert(0, sections.pop(order.index("trends")))
    if a.failures.height:  # what's broken comes before anything else
        sections.insert(0, sections.pop([sid for sid, _, _ in sections].index("data-quality")))
    body = "".join(
        f'<section id="{sid}"><h2>{esc(title)}</h2>{content}</section>' for sid, title, content in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>costscope report — snapshot {a.snapshot_id}</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>costscope — what our telemetry costs</h1><p>snapshot {a.snapshot_id} "
        f"({esc(a.status)}) · started {esc(a.started_at)} · run {esc(a.run_id)} · "
        f"costscope {esc(__version__)}</p></header><main>{body}</main>"
        f"<script>{_SORT_JS}</script></body></html>"
    )


def write_report(analysis: Analysis, path: str | Path, history: pl.DataFrame | None = None) -> Path:
    """Write the report to ``path`` and return it."""
    p = Path(path)
    p.write_text(render_report(analysis, history), encoding="utf-8")
    return p
