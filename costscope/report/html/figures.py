"""Charts as divs of the page: plotly figures without the library, which the page inlines once."""

from __future__ import annotations

import plotly.graph_objects as go

from costscope.analyze import Analysis
from costscope.report.html.charts import label_values_chart, series_treemap, top_metrics_chart

__all__ = ["charts", "figure_div"]


def figure_div(fig: go.Figure, div_id: str) -> str:
    """A plotly figure as a div of the page (plotly.js itself is inlined once, in the head)."""
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


def charts(a: Analysis) -> list[str]:
    """The metric charts: top metrics, the series treemap, label values (those there is data for)."""
    divs = []
    for chart, div_id in (
        (top_metrics_chart(a), "chart-top-metrics"),
        (series_treemap(a), "chart-treemap"),
        (label_values_chart(a), "chart-labels"),
    ):
        if chart is not None:
            divs.append(figure_div(chart, div_id))
    return divs
