"""``costscope diff`` rendered: the terminal lines, a Markdown pull-request comment, the JSON document.

Every name comes from telemetry: escaped for Rich markup and for Markdown; values are never shown
(a risky label's example is masked).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from costscope.analyze.diff import Diff
from costscope.report.markdown import md
from costscope.report.terminal import money

__all__ = ["diff_document", "diff_markdown", "print_diff"]

TOP = 10


def _signed(n: float, unit: str = "") -> str:
    return (
        f"{'+' if n >= 0 else '−'}{unit}{abs(n):,.0f}"
        if not unit
        else f"{'+' if n >= 0 else '−'}{money(abs(n))}"
    )


def _pct(before: float, after: float) -> str:
    return f" ({(after - before) / before * 100:+.1f}%)" if before else ""


def headline(d: Diff) -> str:
    """Series and money before → after, as one line (no markup)."""
    return (
        f"series {d.series_before:,} → {d.series_after:,} ({_signed(d.series_after - d.series_before)}"
        f"{_pct(d.series_before, d.series_after).replace(' (', ', ').rstrip(')')}) · "
        f"{money(d.cost_before)} → {money(d.cost_after)}/month ({_signed(d.cost_after - d.cost_before, '$')})"
    )


def print_diff(d: Diff, console: Console) -> None:
    """The diff as terminal lines."""
    console.print(f"costscope diff: {escape(d.base)} → {escape(d.head)}", soft_wrap=True)
    console.print(headline(d) + f" [dim]({escape(d.cost_model)})[/]")
    for status, title in (("new", "New metrics"), ("gone", "Gone metrics"), ("changed", "Changed metrics")):
        rows = d.metrics.filter(d.metrics["status"] == status)
        if not rows.height:
            continue
        console.print(f"{title} ({rows.height}):")
        for r in rows.head(TOP).iter_rows(named=True):
            console.print(
                f"  {escape(r['metric'])}: {r['series_before']:,} → {r['series_after']:,} series"
                f" ({_signed(r['series_delta'])}, {_signed(r['cost_delta'], '$')}/month)",
                soft_wrap=True,
            )
        if rows.height > TOP:
            console.print(f"  … and {rows.height - TOP} more")
    if d.new_labels.height:
        console.print(f"New labels on existing metrics ({d.new_labels.height}):")
        for r in d.new_labels.head(TOP).iter_rows(named=True):
            risk = f" [red]risky: {escape(r['reason'])}[/]" if r["risky"] else ""
            console.print(
                f"  {escape(r['metric'])} +{escape(r['label'])} ({r['label_values']:,} values){risk}",
                soft_wrap=True,
            )
    for r in d.risky_introduced.iter_rows(named=True):
        example = f", e.g. {escape(r['example'])}" if r["example"] else ""
        console.print(
            f"[red]risky label introduced[/] {escape(r['label'])} ({r['label_values']:,} values on"
            f" {r['metrics']} metric(s)): {escape(r['reason'])}{example}",
            soft_wrap=True,
        )
    if not d.changed.height and not d.new_labels.height:
        console.print("No change in metrics, series or labels.")
    for breach in d.breaches:
        console.print(f"[red]over budget[/] {escape(breach.describe())}", soft_wrap=True)


def diff_markdown(d: Diff) -> str:
    """The diff as a Markdown pull-request comment."""
    lines = [
        f"## costscope diff: {md(headline(d))}",
        "",
        f"{md(d.base)} → {md(d.head)} ({md(d.cost_model)})",
        "",
    ]
    for r in d.risky_introduced.iter_rows(named=True):
        example = f", e.g. {md(r['example'])}" if r["example"] else ""
        lines.append(
            f"- :warning: risky label introduced **{md(r['label'])}** ({r['label_values']:,} values): {md(r['reason'])}{example}"
        )
    for breach in d.breaches:
        lines.append(f"- :x: over budget: {md(breach.describe())}")
    if d.risky_introduced.height or d.breaches:
        lines.append("")
    changed = d.changed
    if changed.height:
        lines += ["| metric | change | series | $/month |", "|---|---|--:|--:|"]
        for r in changed.head(TOP * 2).iter_rows(named=True):
            lines.append(
                f"| {md(r['metric'])} | {r['status']} | {r['series_before']:,} → {r['series_after']:,}"
                f" | {_signed(r['cost_delta'], '$')} |"
            )
        if changed.height > TOP * 2:
            lines.append(f"| … {changed.height - TOP * 2} more | | | |")
        lines.append("")
    if d.new_labels.height:
        lines += ["| metric | new label | values | risk |", "|---|---|--:|---|"]
        for r in d.new_labels.head(TOP * 2).iter_rows(named=True):
            lines.append(
                f"| {md(r['metric'])} | {md(r['label'])} | {r['label_values']:,} | {md(r['reason'] or '')} |"
            )
        lines.append("")
    if not changed.height and not d.new_labels.height:
        lines += ["No change in metrics, series or labels.", ""]
    return "\n".join(lines)


def diff_document(d: Diff) -> dict[str, Any]:
    """The diff as a JSON-ready document."""
    return {
        "base": d.base,
        "head": d.head,
        "cost_model": d.cost_model,
        "series_before": d.series_before,
        "series_after": d.series_after,
        "cost_before": round(d.cost_before, 6),
        "cost_after": round(d.cost_after, 6),
        "metrics": d.changed.to_dicts(),
        "new_labels": d.new_labels.to_dicts(),
        "risky_labels_introduced": d.risky_introduced.to_dicts(),
        "breaches": [b.as_dict() for b in d.breaches],
    }
