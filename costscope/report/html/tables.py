"""The report's tables as data: cells already formatted, with the raw value to sort by.

A table is built here from a DataFrame and drawn by the ``table`` macro of the templates, which
escape every cell (Jinja2's autoescaping). A cell of a metric, log statement or trace operation
names the drill-down panel it opens (``Cell.drill``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import polars as pl

from costscope.report.terminal import money

MAX_CELL_CHARS = 300  # one 600 KB label value must not make a 5 MB report
# fractions shown as percentages
PERCENT_COLUMNS = frozenset(
    {"share", "kept_share", "error_traces_kept", "slow_traces_kept", "worst_p99_error", "error_share",
     "rate_error", "p99_error"}
)  # fmt: skip


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included): for the few strings that reach plotly's labels."""
    return html.escape(str(value), quote=True)


def shown(value: object, limit: int = MAX_CELL_CHARS) -> str:
    """``value`` as text for a cell, cut at ``limit`` characters with its full length noted."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def number(column: str, value: float | int) -> str:
    """A number as the report shows it in ``column``: money, a percentage, milliseconds or a count."""
    if "cost" in column or "savings" in column or column.endswith("_saves"):
        return money(float(value))
    if column in PERCENT_COLUMNS:
        return f"{float(value):.1%}"
    if column.endswith("_ms"):
        return f"{float(value):,.1f} ms"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


@dataclass(frozen=True)
class Cell:
    """One cell: its text, the value to sort by, whether it is a number, a config block, or opens a panel."""

    text: str
    sort: str = ""
    numeric: bool = False
    config: bool = False
    drill: tuple[str, str] | None = None  # (panel kind, key): metric, template or operation


@dataclass(frozen=True)
class Table:
    """Columns (title, numeric) and rows of cells; ``total`` rows before the report's cap."""

    columns: tuple[tuple[str, bool], ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: int


# which column opens which panel, keyed by which column of the row
DRILL = {
    "metric": ("metric", "metric"),
    "target": ("metric", "metric"),  # an action on a metric
    "template": ("template", "template_id"),
    "operation": ("operation", "op_key"),
}


def _cell(column: str, value: Any, numeric: bool) -> Cell:
    if numeric:
        if value is None:
            return Cell("–", "", numeric=True)
        return Cell(number(column, value), str(value), numeric=True)
    if column == "config":
        return Cell("" if value is None else str(value), config=True)
    if isinstance(value, list):
        return Cell(shown(", ".join(map(str, value))))
    return Cell(shown("" if value is None else value))


def table(
    df: pl.DataFrame, columns: list[tuple[str, str]], numeric: set[str], limit: int | None = None
) -> Table:
    """A table of ``columns`` ((column, title)) of ``df`` (its first ``limit`` rows), formatted."""
    shown_df = df.head(limit) if limit is not None else df
    rows = []
    for row in shown_df.iter_rows(named=True):
        cells = []
        for c, _ in columns:
            cell = _cell(c, row[c], c in numeric)
            panel = DRILL.get(c)
            if panel is not None and panel[1] in row and row[panel[1]] is not None:
                cell = Cell(cell.text, cell.sort, cell.numeric, cell.config, (panel[0], str(row[panel[1]])))
            cells.append(cell)
        rows.append(tuple(cells))
    return Table(tuple((title, c in numeric) for c, title in columns), tuple(rows), df.height)
