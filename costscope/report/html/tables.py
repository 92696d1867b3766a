"""HTML building blocks of the report: escaping and sortable tables."""

from __future__ import annotations

import html
from typing import Any

import polars as pl

from costscope.report.terminal import money


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape(str(value), quote=True)


MAX_CELL_CHARS = 300  # one 600 KB label value must not make a 5 MB report


def shown(value: object, limit: int = MAX_CELL_CHARS) -> str:
    """``value`` as text for a cell, cut at ``limit`` characters with its full length noted."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def table(df: pl.DataFrame, columns: list[tuple[str, str]], numeric: set[str]) -> str:
    """A sortable table of ``columns`` ((column, title)); money and counts formatted, all escaped."""
    head = "".join(f'<th class="{"n" if c in numeric else ""}">{esc(title)}</th>' for c, title in columns)
    body = []
    for row in df.iter_rows(named=True):
        cells = []
        for c, _ in columns:
            v = row[c]
            if c in numeric and v is None:
                cells.append('<td class="n" data-v="">–</td>')
            elif c in numeric:
                if "cost" in c or "savings" in c:
                    text = money(v)
                else:
                    text = f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"
                cells.append(f'<td class="n" data-v="{esc(v)}">{esc(text)}</td>')
            elif c == "config":
                cells.append(f"<td><details><summary>config</summary><pre>{esc(v)}</pre></details></td>")
            elif isinstance(v, list):
                cells.append(f"<td>{esc(shown(', '.join(map(str, v))))}</td>")
            else:
                cells.append(f"<td>{esc(shown(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
