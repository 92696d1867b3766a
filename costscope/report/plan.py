"""A plan written out: ``plan.json`` and each chosen action's config, ready to paste; and its summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from costscope.recommend.plan import Plan
from costscope.report.terminal import money

__all__ = ["plan_document", "print_plan", "write_plan"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def plan_document(plan: Plan) -> dict[str, object]:
    """The plan as a JSON-ready document."""
    return {
        "cost_model": plan.cost_model,
        "bill_before": {k: round(v, 6) for k, v in plan.bill_before.items()},
        "bill_after": {k: round(v, 6) for k, v in plan.bill_after.items()},
        "total_before": round(plan.total_before, 6),
        "total_after": round(plan.total_after, 6),
        "actions": plan.actions.select(
            "rank",
            "kind",
            "target",
            "metric",
            "labels",
            "points",
            "monthly_savings",
            "series_saved",
            "risk_level",
            "risk",
        ).to_dicts(),
        "metrics": plan.metrics.filter(
            plan.metrics["series_after"] != plan.metrics["series_before"]
        ).to_dicts(),
        "jobs": plan.jobs.to_dicts(),
    }


def write_plan(plan: Plan, out: Path) -> list[Path]:
    """Write ``out/plan.json`` and ``out/actions/<rank>-<kind>-<target>.yaml``; returns the files."""
    actions = out / "actions"
    actions.mkdir(parents=True, exist_ok=True)
    written = [out / "plan.json"]
    written[0].write_text(json.dumps(plan_document(plan), indent=1, default=str) + "\n", encoding="utf-8")
    for row in plan.actions.iter_rows(named=True):
        # a file name made of telemetry is data: only safe characters, never a path
        stem = _UNSAFE.sub("_", f"{row['rank']:02d}-{row['kind']}-{row['target']}")[:120]
        path = actions / f"{stem}.yaml"
        path.write_text(
            f"# {row['kind']}: {row['target']}\n# risk: {row['risk']}\n{row['config']}", encoding="utf-8"
        )
        written.append(path)
    return written


def print_plan(plan: Plan, console: Console, out: Path | None = None) -> None:
    """The plan's bill and its actions, as terminal lines."""
    console.print(
        f"Plan: {plan.actions.height} action(s): {money(plan.total_before)} → {money(plan.total_after)}/month"
        f" ({money(plan.total_before - plan.total_after)} less) [dim]({escape(plan.cost_model)})[/]"
    )
    for signal, before in plan.bill_before.items():
        console.print(f"  {signal}: {money(before)} → {money(plan.bill_after.get(signal, before))}")
    for row in plan.actions.iter_rows(named=True):
        console.print(
            f"  #{row['rank']} {escape(row['kind'])}: {escape(row['target'])} [dim]({escape(row['risk_level'])})[/]",
            soft_wrap=True,
        )
    inexact = plan.metrics.filter(~plan.metrics["exact"])
    if inexact.height:
        console.print(
            f"[yellow]{inexact.height} metric(s) counted inside their backend: their figures are the actions' own,"
            " not recounted together[/]"
        )
    if out is not None:
        console.print(
            f"Written: {escape(str(out / 'plan.json'))} and {plan.actions.height} config(s) under {escape(str(out / 'actions'))}"
        )
