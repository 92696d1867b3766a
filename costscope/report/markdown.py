"""The Markdown summary: what it costs, what changed, who is over budget, what to do first.

Short enough for a chat message or a pull-request comment; every name in it comes from telemetry
and is escaped for Markdown (a label value must not become a link or a heading).
"""

from __future__ import annotations

import re

import polars as pl

from costscope.analyze import Analysis
from costscope.report.terminal import money

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")  # what makes links, emphasis, HTML or table cells


def md(text: object) -> str:
    """Markdown-escape untrusted text."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _delta(value: float) -> str:
    return ("+" if value >= 0 else "−") + money(abs(value))


def markdown_summary(a: Analysis, top: int = 5) -> str:
    """The summary as Markdown."""
    totals = {
        r["key"]: r["monthly_cost"]
        for r in a.costs.filter(pl.col("dimension") == "total").iter_rows(named=True)
    }
    total = sum(totals.values())
    lines = [f"## costscope: {money(total)}/month · snapshot {a.snapshot_id} ({md(a.started_at[:16])})", ""]
    parts = " · ".join(
        f"{name} {money(totals[name])}" for name in ("metrics", "logs", "traces") if name in totals
    )
    lines.append(f"{parts} ({md(a.cost_model.describe())})")
    t = a.trends
    if t is not None:
        changed = t.changes.filter(pl.col("dimension") == "total")
        delta = float(changed["cost_delta"].sum())
        before = float(changed["cost_before"].sum())
        pct = f" ({delta / before:+.1%})" if before else ""
        lines += [
            "",
            f"Since snapshot {t.baseline_id} ({md(t.baseline_started_at[:16])}): **{_delta(delta)}**/month{pct}.",
        ]
    breaches = getattr(a, "breaches", ())
    if breaches:
        lines += ["", f"### Over budget ({len(breaches)})", ""]
        lines += [f"- {md(b.describe())}" for b in breaches]
    if t is not None:
        grew = t.changes.filter(
            pl.col("dimension").is_in(["metric", "template", "service", "team"])
            & (pl.col("cost_delta") > 0.005)
        )
        if grew.height:
            lines += [
                "",
                "### What grew",
                "",
                "| signal | what | before | after | change |",
                "|---|---|---:|---:|---:|",
            ]
            for r in grew.sort("cost_delta", descending=True).head(top).iter_rows(named=True):
                label = f"{r['dimension']} {md(r['key'])}" + (" (new)" if r["status"] == "new" else "")
                lines.append(
                    f"| {r['signal']} | {label} | {money(r['cost_before'])} | {money(r['cost_after'])} | {_delta(r['cost_delta'])} |"
                )
        new_labels = t.changes.filter((pl.col("dimension") == "label") & (pl.col("status") == "new"))
        if new_labels.height:
            names = ", ".join(
                f"{md(r['key'])} ({r['volume_after']:,.0f} values)"
                for r in new_labels.head(top).iter_rows(named=True)
            )
            lines += ["", f"New labels: {names}."]
    recs = a.recommendations.head(top)
    if recs.height:
        lines += ["", "### Do first", "", "| # | action | saves/month | breaks |", "|---:|---|---:|---|"]
        for r in recs.iter_rows(named=True):
            lines.append(
                f"| {r['rank']} | {md(r['kind'])}: {md(r['target'])} | {money(r['monthly_savings'])} | {r['risk_level']} |"
            )
    return "\n".join(lines) + "\n"
