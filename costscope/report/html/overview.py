"""The first screen: what the bill is and where it goes, what is broken, and the plan.

Three answers that fit a laptop's screen without scrolling; each links to the section with the
detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from costscope.analyze import Analysis
from costscope.report.html.tables import number, shown, table


@dataclass(frozen=True)
class Problem:
    """One broken thing, how many, and the section that says more."""

    text: str
    count: int
    section: str


def _bill(a: Analysis) -> dict[str, Any]:
    signals = [("metrics", a.total_monthly_cost, f"{a.total_series:,} active series")]
    if a.logs.known:
        signals.append(("logs", a.logs.monthly_cost, f"{a.logs.templates.height:,} statements"))
    if a.traces.known:
        signals.append(("traces", a.traces.monthly_cost, f"{a.traces.operations.height:,} operations"))
    total = sum(cost for _, cost, _ in signals)
    top: list[tuple[str, str, str, tuple[str, str] | None]] = []  # (what, name, cost, panel)
    if a.metrics.height:
        m = a.metrics.row(0, named=True)
        top.append(
            (
                "top metric",
                shown(m["metric"], 80),
                number("monthly_cost", m["monthly_cost"]),
                ("metric", m["metric"]),
            )
        )
    by, group = (a.by_team, "team") if a.by_team.height else (a.by_job, "job")
    if by.height:
        g = by.group_by(group).agg(pl.col("monthly_cost").sum()).sort("monthly_cost", descending=True).row(0)
        top.append((f"top {group}", shown(g[0], 80), number("monthly_cost", g[1]), None))
    if a.logs.known and a.logs.templates.height:
        t = a.logs.templates.row(0, named=True)
        top.append(("top log statement", shown(t["template"], 80), number("monthly_cost", t["monthly_cost"]),
                    ("template", t["template_id"])))  # fmt: skip
    if a.traces.known and a.traces.operations.height:
        svc = a.traces.operations.group_by("service").agg(pl.col("monthly_cost").sum())
        first = svc.sort("monthly_cost", descending=True).row(0)
        top.append(("top traced service", shown(first[0], 80), number("monthly_cost", first[1]), None))
    return {
        "total": number("monthly_cost", total),
        "signals": [(name, number("monthly_cost", cost), note) for name, cost, note in signals],
        "top": top,
        "model": a.cost_model.describe(),
    }


def _broken(a: Analysis) -> list[Problem]:
    problems = []
    if a.failures.height:
        problems.append(
            Problem("source errors: figures cover what was collected", a.failures.height, "data-quality")
        )
    if a.warnings.height:
        problems.append(Problem("inputs skipped or empty", a.warnings.height, "data-quality"))
    if a.usage.known:
        missing = a.usage.missing.filter(pl.col("kind") != "query")
        if missing.height:
            n = missing.unique(["kind", "name"]).height
            problems.append(Problem("alerts, rules, SLOs or panels read metrics no source has", n, "usage"))
        never = a.usage.not_ingested()
        if never.height:
            problems.append(Problem("metrics queried but never ingested", never.height, "usage"))
        unread = a.usage.unread()
        if unread.height:
            problems.append(Problem("queries that could not be read", unread.height, "usage"))
    if a.breaches:
        problems.append(Problem("budgets breached", len(a.breaches), "trends"))
    return problems


def overview_context(a: Analysis) -> dict[str, Any]:
    """The bill, what is broken and the plan, for the first screen."""
    plan = None
    if a.plan_bill is not None and a.plan_bill[0]:
        n, before, after = a.plan_bill
        plan = {"actions": n, "before": number("monthly_cost", before), "after": number("monthly_cost", after),
                "saves": number("monthly_savings", before - after)}  # fmt: skip
    return {
        "bill": _bill(a),
        "broken": _broken(a),
        "status": a.status,
        "plan": plan,
        "actions": table(
            a.recommendations,
            [("rank", "#"), ("kind", "action"), ("target", "target"), ("monthly_savings", "saves/month")],
            {"rank", "monthly_savings"},
            limit=5,
        ),
    }
