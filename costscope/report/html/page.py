"""The offline HTML report: one self-contained file, plotly.js inlined, no network at all.

The page is Jinja2 templates (``templates/``) with autoescaping on: every metric name, label
value, log line and span name is untrusted text and is escaped by default; the data the
drill-down panels and charts need is embedded as JSON escaped for its script element, and the
page's script builds the panels with ``textContent`` only. A Content-Security-Policy forbids any
network access. Each section's figures come from its module (``overview``, ``metrics``,
``quality``, ``usage``, ``logs``, ``traces``, ``trends``); its layout is its template.

Order follows the questions people ask: the first screen says what the bill is, what is broken
and what the plan saves; then what changed (a weekly run) and what failed come first when there
is such a thing, then the detail.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from costscope._version import __version__
from costscope.analyze import Analysis
from costscope.report.html.charts import Chart, cost_treemap, label_values_chart, top_metrics_chart
from costscope.report.html.drill import drill_data
from costscope.report.html.logs import logs_context
from costscope.report.html.metrics import (
    dpm_context,
    histograms_context,
    labels_context,
    metrics_context,
    recommendations_context,
    teams_context,
)
from costscope.report.html.overview import overview_context
from costscope.report.html.quality import quality_context
from costscope.report.html.traces import traces_context
from costscope.report.html.trends import trends_context
from costscope.report.html.usage import usage_context

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; "
    "base-uri 'none'"
)


@dataclass(frozen=True)
class Section:
    """One section of the page: its anchor, title, template and what the template shows."""

    id: str
    title: str
    template: str
    context: dict[str, Any]


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs (compiling them all took a tenth of a second a report).

    Keyed by the template's source and the Python version, so an edit or an upgrade recompiles.
    Where the folder can't be written the report is still written, its templates compiled anew.
    """

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _template_cache() -> jinja2.BytecodeCache | None:
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "costscope" / f"templates-{__version__}"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        return None
    return _TemplateCache(str(folder))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("costscope.report.html", "templates"),
        bytecode_cache=_template_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> str:
    return _environment().loader.get_source(_environment(), name)[0]  # type: ignore[union-attr]


@cache
def _plotly_js() -> str:
    # the bundled file itself: importing plotly.offline for it costs a fifth of a second
    return (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_text(
        encoding="utf-8"
    )


def _sections(a: Analysis, history: pl.DataFrame, charts: dict[str, Chart | None]) -> list[Section]:
    sections = [
        Section("overview", "Overview", "overview", overview_context(a)),
        Section("data-quality", "Data quality", "data-quality", quality_context(a)),
        Section("metrics", "Metrics", "metrics", metrics_context(a, charts)),
        Section("dpm", "Scrape rates", "dpm", dpm_context(a)),
        Section("histograms", "Histograms", "histograms", histograms_context(a)),
        Section("labels", "Labels", "labels", labels_context(a, charts)),
        Section("teams", "Teams", "teams", teams_context(a)),
        Section("recommendations", "Recommendations", "recommendations", recommendations_context(a)),
        Section("usage", "Usage", "usage", usage_context(a)),
        Section("logs", "Logs", "logs", logs_context(a)),
        Section("traces", "Traces", "traces", traces_context(a)),
        Section("trends", "What changed", "trends", trends_context(a, history)),
    ]
    ids = [s.id for s in sections]
    if a.trends is not None:  # the weekly question comes next: what changed, and who is over budget
        sections.insert(1, sections.pop(ids.index("trends")))
    if a.failures.height:  # what's broken comes before the detail
        sections.insert(1, sections.pop([s.id for s in sections].index("data-quality")))
    return sections


def render_report(a: Analysis, history: pl.DataFrame | None = None) -> str:
    """The whole report as one HTML string."""
    past = history if history is not None else pl.DataFrame(schema={"snapshot_id": pl.Int64})
    charts = {
        "top_metrics": top_metrics_chart(a),
        "treemap": cost_treemap(a),
        "label_values": label_values_chart(a),
    }
    sections = _sections(a, past, charts)
    shown = [c for s in sections for c in _charts_of(s.context)]
    data = {"charts": {c.id: c.spec for c in shown}, "panels": drill_data(a)}
    return (
        _environment()
        .get_template("page.html.j2")
        .render(
            a=a,
            version=__version__,
            csp=CSP,
            css=_asset("report.css"),
            plotly_js=_plotly_js(),
            app_js=_asset("report.js"),
            sections=sections,
            data=data,
        )
    )


def _charts_of(context: dict[str, Any]) -> list[Chart]:
    found = []
    for value in context.values():
        if isinstance(value, Chart):
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, Chart)]
    return found


def write_report(analysis: Analysis, path: str | Path, history: pl.DataFrame | None = None) -> Path:
    """Write the report to ``path`` and return it."""
    p = Path(path)
    p.write_text(render_report(analysis, history), encoding="utf-8")
    return p
