"""The offline HTML report: one self-contained file, plotly.js inlined, no network at all.

Order follows the questions people ask: what's broken (data quality first when a source failed),
what it costs and what to cut first, then the detail. Every label name, value and metric name is
untrusted text: it is escaped for HTML here and before it reaches plotly (whose labels accept
a subset of HTML). A Content-Security-Policy forbids any network access from the page.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from costscope._version import __version__
from costscope.analyze import Analysis
from costscope.report.charts import label_values_chart, series_treemap, top_metrics_chart
from costscope.report.logs_section import logs_section
from costscope.report.tables import esc, table
from costscope.report.terminal import money
from costscope.report.traces_section import traces_section
from costscope.report.trends_section import trends_section
from costscope.report.usage_section import usage_section

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


def _figure_div(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, template="plotly_white")
    # plotly's JSON escapes "<" and "/" sequences, so a value can't close the script element
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def _charts(a: Analysis) -> list[str]:
    divs = []
    for chart, div_id in (
        (top_metrics_chart(a), "chart-top-metrics"),
        (series_treemap(a), "chart-treemap"),
        (label_values_chart(a), "chart-labels"),
    ):
        if chart is not None:
            divs.append(_figure_div(chart, div_id))
    return divs


def render_report(a: Analysis, history: pl.DataFrame | None = None) -> str:
    """The whole report as one HTML string."""
    recs = a.recommendations
    # each saving is against today's bill and actions on the same series overlap: never add them up
    savings = float(recs["monthly_savings"][0]) if recs.height else 0.0  # ranked: the first saves most
    quality = []
    errors, warnings = a.failures, a.warnings
    columns = [("source", "source"), ("location", "where"), ("stage", "stage"), ("message", "error")]
    if errors.height:
        quality.append(
            f'<p class="bad">{errors.height} source error(s): the snapshot is '
            f"<b>{esc(a.status)}</b>; figures cover what was collected.</p>"
        )
        quality.append(table(errors, columns, set()))
    if warnings.height:
        quality.append(
            f"<p>{warnings.height} input warning(s): files that were not recognised, or were read and"
            " yielded nothing. Nothing else was lost.</p>"
        )
        quality.append(table(warnings, [*columns[:3], ("message", "warning")], set()))
    if not errors.height:
        quality.append('<p class="ok">Every source was read completely.</p>')
    if a.values_masked and a.risky_labels.height:
        quality.append(
            f"<p>Values of {a.risky_labels.height} risky label(s) are masked in this report"
            f" ({esc(', '.join(a.risky_labels['label'].head(10)))}): they look like identifiers and may be"
            " personal data.</p>"
        )
    quality.append(
        table(
            a.sources,
            [
                ("source", "source"),
                ("kind", "kind"),
                ("location", "location"),
                ("status", "status"),
                ("series", "series"),
                ("skipped_lines", "skipped lines"),
            ],
            {"series", "skipped_lines"},
        )
    )
    kpis = (
        f'<div class="kpi"><b>{money(a.total_monthly_cost)}</b><span>metrics per month</span></div>'
        f'<div class="kpi"><b>{a.total_series:,}</b><span>active series</span></div>'
        f'<div class="kpi"><b>{a.metrics.height:,}</b><span>metrics</span></div>'
        + (
            f'<div class="kpi"><b>{money(a.logs.monthly_cost)}</b><span>logs per month</span></div>'
            if a.logs.known
            else ""
        )
        + f'<div class="kpi"><b>{money(savings)}</b><span>saved per month by the first action alone</span></div>'
    )
    charts = _charts(a)
    sections = [
        (
            "headline",
            "Headline",
            f'<div class="kpis">{kpis}</div>'
            f'<p class="muted">Costs use {esc(a.cost_model.describe())}; source: {esc(a.cost_model.source)}.</p>'
            + table(
                recs.head(5),
                [
                    ("rank", "#"),
                    ("kind", "action"),
                    ("target", "target"),
                    ("monthly_savings", "saves/month"),
                ],
                {"rank", "monthly_savings"},
            ),
        ),
        ("data-quality", "Data quality", "".join(quality)),
        (
            "metrics",
            "Metrics",
            "".join(charts[:2])
            + table(
                a.metrics.head(200),
                [
                    ("metric", "metric"),
                    ("type", "type"),
                    ("series", "series"),
                    ("monthly_cost", "monthly cost"),
                    ("jobs", "jobs"),
                ],
                {"series", "monthly_cost"},
            ),
        ),
        (
            "dpm",
            "Scrape rates",
            (
                "<p>Jobs scraped more often than once a minute are billed on data points per minute"
                f" (DPM) under {esc(a.cost_model.name)}; their costs above include that factor.</p>"
                + table(
                    a.dpm,
                    [("job", "job"), ("series", "series"), ("dpm", "DPM"), ("factor", "bill factor")],
                    {"series", "dpm", "factor"},
                )
            )
            if a.dpm.height
            else '<p class="muted">No scrape statistics in this snapshot (they come from Prometheus-compatible'
            " API sources).</p>",
        ),
        (
            "histograms",
            "Histograms and summaries",
            table(
                a.histograms,
                [
                    ("metric", "metric"),
                    ("type", "type"),
                    ("points", "buckets/quantiles"),
                    ("label_sets", "label sets"),
                    ("series", "series"),
                    ("fewer_buckets_monthly_savings", "fewer buckets saves/month"),
                    ("native_monthly_savings", "native histogram saves/month"),
                ],
                {"points", "label_sets", "series", "fewer_buckets_monthly_savings", "native_monthly_savings"},
            )
            if a.histograms.height
            else '<p class="muted">No histograms or summaries.</p>',
        ),
        (
            "labels",
            "Labels",
            "".join(charts[2:])
            + "<h3>Risky labels</h3>"
            + (
                table(
                    a.risky_labels,
                    [
                        ("label", "label"),
                        ("label_values", "values"),
                        ("metrics", "metrics"),
                        ("reason", "why"),
                    ],
                    {"label_values", "metrics"},
                )
                + (
                    '<p class="muted">Values of these labels are masked everywhere in this report'
                    " (they may be personal data); --show-values shows them.</p>"
                    if a.values_masked
                    else ""
                )
                if a.risky_labels.height
                else '<p class="ok">No label looks like an identifier or grows without bound.</p>'
            )
            + "<h3>Label values carried by the most series</h3>"
            + table(
                a.top_pairs.head(20),
                [("label", "label"), ("value", "value"), ("series", "series")],
                {"series"},
            )
            + "<h3>Series left after dropping one label</h3>"
            + table(
                a.label_drops.head(200),
                [
                    ("metric", "metric"),
                    ("label", "label"),
                    ("series_before", "before"),
                    ("series_after", "after"),
                    ("label_values", "values"),
                    ("monthly_savings", "saves/month"),
                ],
                {"series_before", "series_after", "label_values", "monthly_savings"},
            ),
        ),
        (
            "teams",
            "Teams",
            table(
                a.by_team.group_by("team")
                .agg(
                    pl.col("series").sum(),
                    pl.col("monthly_cost").sum(),
                    pl.col("metric").n_unique().alias("metrics"),
                )
                .sort(["monthly_cost", "team"], descending=[True, False]),
                [
                    ("team", "team"),
                    ("metrics", "metrics"),
                    ("series", "series"),
                    ("monthly_cost", "monthly cost"),
                ],
                {"metrics", "series", "monthly_cost"},
            )
            if a.by_team.height
            else '<p class="muted">No ownership rules in the config: add <code>ownership</code> to see cost per'
            " team (docs/config.md).</p>",
        ),
        (
            "recommendations",
            "Recommendations",
            table(
                recs,
                [
                    ("rank", "#"),
                    ("kind", "kind"),
                    ("target", "target"),
                    ("monthly_savings", "saves/month"),
                    ("risk", "risk"),
                    ("evidence", "evidence"),
                    ("config", "config"),
                ],
                {"rank", "monthly_savings"},
            ),
        ),
        ("usage", "Usage", usage_section(a)),
        ("logs", "Logs", logs_section(a, _figure_div)),
        ("traces", "Traces", traces_section(a, _figure_div)),
        (
            "trends",
            "What changed",
            trends_section(
                a,
                history if history is not None else pl.DataFrame(schema={"snapshot_id": pl.Int64}),
                _figure_div,
            ),
        ),
    ]
    order = [sid for sid, _, _ in sections]
    if a.trends is not None:  # the weekly question comes first: what changed, and who is over budget
        sections.insert(0, sections.pop(order.index("trends")))
    if errors.height:  # what's broken comes before anything else
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
