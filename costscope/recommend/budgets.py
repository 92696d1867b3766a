"""Budgets: limits that fail the weekly job, each breach naming what, who owns it and the fix.

    budgets:
      - name: no metric above 50k series
        kind: metric_series          # any metric (or `metric: name` for one)
        max: 50000
        severity: critical           # critical (default) | warning
      - name: payments under $4k a month
        kind: team_cost
        team: payments
        max: 4000
      - name: no new label with more than 10k values
        kind: new_label_values       # a label absent from the baseline snapshot
        max: 10000
      - {kind: label_values, label: user_id, max: 1000}
      - {kind: signal_cost, signal: logs, max: 500}
      - {kind: metric_growth, max: 20}   # percent of monthly cost, against the baseline

``costscope analyze --budgets budgets.yaml`` exits 1 when one is breached. A breach says what
(metric, team, label or signal), how much against the limit, who owns it (the team whose
ownership rules cover most of the metric's series) and the recommendation that fixes it, if one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from costscope.analyze.result import Analysis, Breach
from costscope.errors import ConfigError
from costscope.yaml_nodes import YamlAt, compose

KINDS = ("metric_series", "team_cost", "label_values", "new_label_values", "signal_cost", "metric_growth")
SEVERITIES = ("critical", "warning")


@dataclass(frozen=True)
class Budget:
    """One limit."""

    name: str
    kind: str
    max: float
    severity: str = "critical"
    target: str | None = None  # the metric, team, label or signal it is about (None: every one)


def _budget(at: YamlAt, index: int) -> Budget:
    f = at.mapping(("name", "kind", "max", "severity", "metric", "team", "label", "signal"))
    if "kind" not in f:
        raise at.fail("a budget needs a kind")
    kind = f["kind"].string()
    if kind not in KINDS:
        raise f["kind"].fail(f"unknown budget kind {kind!r} (allowed: {', '.join(KINDS)})")
    if "max" not in f:
        raise at.fail("a budget needs max")
    severity = f["severity"].string() if "severity" in f else "critical"
    if severity not in SEVERITIES:
        raise f["severity"].fail(f"severity must be one of {', '.join(SEVERITIES)}")
    target_key = {"team_cost": "team", "signal_cost": "signal", "label_values": "label"}.get(kind, "metric")
    if kind in ("team_cost", "signal_cost") and target_key not in f:
        raise at.fail(f"a {kind} budget needs {target_key}")
    target = f[target_key].string() if target_key in f else None
    if kind == "signal_cost" and target not in ("metrics", "logs", "traces"):
        raise f["signal"].fail("signal must be metrics, logs or traces")
    name = f["name"].string() if "name" in f else f"budget {index + 1} ({kind})"
    return Budget(name, kind, f["max"].number(), severity, target)


def parse_budgets(text: str, file: str = "<budgets>") -> list[Budget]:
    """Budgets from YAML text; errors name file, line and field."""
    root = compose(text, file)
    if root is None:
        raise ConfigError("empty budgets file", file=file)
    top = YamlAt(root, "", file).mapping(("budgets",))
    if "budgets" not in top:
        raise ConfigError("a budgets file needs budgets", file=file, line=1)
    return [_budget(item, i) for i, item in enumerate(top["budgets"].items())]


def load_budgets(path: str | Path) -> list[Budget]:
    """Read a budgets file."""
    p = Path(path)
    try:
        return parse_budgets(p.read_text(encoding="utf-8"), str(p))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(p)) from None


def _owner(by_team: pl.DataFrame, metric: str) -> str | None:
    rows = by_team.filter((pl.col("metric") == metric) & (pl.col("team") != "(unowned)"))
    return str(rows.sort("series", descending=True)["team"][0]) if rows.height else None


def _fix(recommendations: pl.DataFrame, needle: str) -> str | None:
    hits = recommendations.filter(pl.col("target").str.contains(needle, literal=True))
    if not hits.height:
        return None
    r = hits.row(0, named=True)
    return f"#{r['rank']} {r['kind']}: {r['target']} (saves ${r['monthly_savings']:,.2f}/month)"


def evaluate(budgets: list[Budget], analysis: Analysis) -> list[Breach]:
    """Every breach of ``budgets`` in an ``Analysis`` (its trends for the new-label and growth kinds)."""
    out: list[Breach] = []
    recs, by_team = analysis.recommendations, analysis.by_team
    for b in budgets:
        if b.kind == "metric_series":
            rows = analysis.metrics.filter(pl.col("series") > b.max)
            if b.target:
                rows = rows.filter(pl.col("metric") == b.target)
            for r in rows.iter_rows(named=True):
                out.append(Breach(b.name, b.severity, b.kind, r["metric"], r["series"], b.max,
                                  _owner(by_team, r["metric"]), _fix(recs, r["metric"])))  # fmt: skip
        elif b.kind == "team_cost":
            cost = float(by_team.filter(pl.col("team") == b.target)["monthly_cost"].sum())
            if cost > b.max:
                top = by_team.filter(pl.col("team") == b.target).sort("monthly_cost", descending=True)
                fix = next((f for m in top["metric"].head(5) if (f := _fix(recs, m))), None)
                out.append(Breach(b.name, b.severity, b.kind, str(b.target), cost, b.max, b.target, fix))
        elif b.kind in ("label_values", "new_label_values"):
            labels = analysis.labels.filter(pl.col("label_values") > b.max)
            if b.target:
                labels = labels.filter(pl.col("label") == b.target)
            if b.kind == "new_label_values":
                if analysis.trends is None:
                    continue  # nothing to be new against
                new = analysis.trends.changes.filter(
                    (pl.col("dimension") == "label") & (pl.col("status") == "new")
                )
                labels = labels.filter(pl.col("label").is_in(new["key"].to_list()))
            for r in labels.iter_rows(named=True):
                drops = analysis.label_drops.filter(pl.col("label") == r["label"]).sort(
                    "series_before", descending=True
                )
                metric = str(drops["metric"][0]) if drops.height else None
                owner = _owner(by_team, metric) if metric else None
                out.append(Breach(b.name, b.severity, b.kind, f"label {r['label']}", r["label_values"], b.max, owner,
                                  _fix(recs, f"without {r['label']}") or (_fix(recs, metric) if metric else None)))  # fmt: skip
        elif b.kind == "signal_cost":
            cost = float(
                analysis.costs.filter((pl.col("dimension") == "total") & (pl.col("key") == b.target))[
                    "monthly_cost"
                ].sum()
            )
            if cost > b.max:
                kinds = {
                    "metrics": None,
                    "logs": ("drop_level", "sample_template", "log_to_metric"),
                    "traces": ("sampling_policy",),
                }
                wanted = kinds[str(b.target)]
                pool = recs.filter(pl.col("kind").is_in(list(wanted))) if wanted else recs
                fix = _fix(pool, "") if pool.height else None
                out.append(Breach(b.name, b.severity, b.kind, str(b.target), cost, b.max, None, fix))
        elif b.kind == "metric_growth" and analysis.trends is not None:
            grew = analysis.trends.changes.filter(
                (pl.col("dimension") == "metric") & (pl.col("cost_delta_pct") > b.max)
            )
            if b.target:
                grew = grew.filter(pl.col("key") == b.target)
            for r in grew.iter_rows(named=True):
                out.append(Breach(b.name, b.severity, b.kind, r["key"], r["cost_delta_pct"], b.max,
                                  _owner(by_team, r["key"]), _fix(recs, r["key"])))  # fmt: skip
    return out
