"""What is used: each metric's readers (dashboards, alerts, recording rules, SLOs) and labels.

``usage_refs`` holds, per expression, the metric it names (or a pattern) and the labels it needs.
Here the patterns are resolved against the snapshot's metrics, recording rules are followed (a
metric read only by a rule whose output a dashboard reads is used by that dashboard, through the
rule), and each metric family gets: who reads it, which of its labels anything needs, and —
where some labels are needed by nothing — the exact series left if only the used ones were kept.

Severity of breaking a reader, for guarding recommendations: an SLO weighs most, then an alert or
a recording rule (whatever reads its output breaks too), then a query from a query log, then a
dashboard (``readers.SEVERITY``). A logged query's risk says how often it ran, by how many
queriers, when last, and how many days the log covers: "not queried" means nothing without that.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from costscope.analyze.log_readers import parse_logql
from costscope.analyze.metrics import keep_only
from costscope.analyze.missing_metrics import MISSING_SCHEMA, SCRAPE_METRICS, readers_of_missing
from costscope.analyze.query_usage import QueryUse, QueryWindow, day, logged_queries, query_use, query_window
from costscope.analyze.readers import MAX_CHAIN, SEVERITY, Reader, count, listing, unique
from costscope.pricing import CostModel
from costscope.sources.promql import EVERY_SERIES
from costscope.sources.usage import NO_METRIC
from costscope.store.database import Store

RISK_UNKNOWN = "usage unknown: add dashboards and rules to check what reads this"
# bucket bounds: fewer buckets is its own action; job: what pricing, DPM and ownership key on
NEVER_DROPPED = ("le", "quantile", "job", "__name__")
_READER_KINDS = ("dashboard", "alert", "recording_rule", "slo", "query")
_RULE_KINDS = ("alert", "recording_rule")  # a rule is told apart by its group and static labels too
# problems of readers that were read, and read no metric in particular: of every series, or of none
_READ_NONE = [EVERY_SERIES, NO_METRIC]


@dataclass(frozen=True)
class Usage:
    """Who reads what in one snapshot; ``known`` is False when no usage source was read."""

    known: bool
    metrics: pl.DataFrame  # per family: readers, labels needed/unused, series, cost, status
    keep_used: pl.DataFrame  # per family with unused labels: series and money kept-only-used saves
    problems: pl.DataFrame
    # per family: (reader, needs) where needs is (every, labels) as in usage_refs
    readers: dict[str, list[tuple[Reader, bool, frozenset[str]]]] = field(default_factory=dict)
    # per histogram: readers that select every bucket they read by its bound (le="0.5")
    pinned: dict[str, frozenset[Reader]] = field(default_factory=dict)
    # every reader the usage sources hold, whether or not what it reads exists: (kind, name, identity)
    everyone: frozenset[tuple[str, str, str | None]] = frozenset()
    # readers of metrics no source of the snapshot has (directly, or through a recording rule)
    missing: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=MISSING_SCHEMA))
    # per family: what logged queries read it; the window the query logs cover; the snapshot's time
    queried: dict[str, QueryUse] = field(default_factory=dict)
    window: QueryWindow | None = None
    query_runs: int = 0  # runs of every logged query (also those reading nothing the snapshot has)

    def query_note(self, metric: str) -> str:
        """``read 41 times by 3 queriers, last on 2026-11-28, in query logs of 30.0 days (…)`` for ``metric``."""
        use = self.queried.get(metric)
        if use is None:
            return ""
        text = f"read {count(use.runs, 'time')} by {count(use.queriers, 'querier')}"
        if use.last_at is not None:
            text += f", last on {day(use.last_at)}"
        return text + self.window_note()

    def window_note(self) -> str:
        """``, in query logs of 30.0 days`` — what "not queried" can mean; empty without query logs."""
        if self.window is None:
            return ""
        w = self.window
        if w.days is None or w.first_at is None or w.last_at is None:
            return ", in query logs of unknown span"
        return f", in query logs of {w.days:.1f} days ({day(w.first_at)} to {day(w.last_at)})"

    def summary(self) -> dict[str, Any]:
        """Counts for a headline: readers by kind, used and unused metrics, their cost, problems."""
        unread = self.unread().height
        m = self.metrics
        unused = m.filter(pl.col("status") == "unused")

        # every reader counts, also those reading metrics no source has (they are broken: ``missing``)
        def count(kind: str) -> int:
            return len({(k, n, i) for k, n, i in self.everyone if k == kind})

        # a reader counts once however many of its queries or panels are broken; a logged query
        # reading what nothing ingests is its own finding (``queried_not_ingested``)
        missing = self.missing.filter(pl.col("kind") != "query")
        broken = missing.unique(["kind", "name"]) if missing.height else missing
        window = self.window
        return {
            "known": self.known,
            "dashboards": count("dashboard"),
            "alerts": count("alert"),
            "recording_rules": count("recording_rule"),
            "slos": count("slo"),
            "queries": count("query"),
            "query_runs": self.query_runs,
            "query_window_days": round(window.days, 2) if window and window.days is not None else None,
            "queried_not_ingested": self.not_ingested().height,
            "broken_readers": broken.height,
            "broken_alerts": broken.filter(pl.col("kind") == "alert").height if broken.height else 0,
            "metrics_used": m.height - unused.height,
            "metrics_unused": unused.height,
            "unused_series": int(unused["series"].sum()) if unused.height else 0,
            "unused_monthly_cost": round(float(unused["monthly_cost"].sum()), 2) if unused.height else 0.0,
            "problems": unread,
            "every_series_readers": self.every_series().height,
            "logql_queries": self.problems.height - unread - self.read_none().height,
        }

    def not_ingested(self) -> pl.DataFrame:
        """Metrics logged queries read that no source has nor any rule makes: (metric, queries, expr)."""
        rows = self.missing.filter(pl.col("kind") == "query")
        if rows.is_empty():
            return pl.DataFrame(schema={"metric": pl.String, "queries": pl.Int64, "example": pl.String})
        return (
            rows.group_by("metric")
            .agg(
                pl.col("name").n_unique().cast(pl.Int64).alias("queries"),
                pl.col("expr").first().alias("example"),
            )
            .sort(["queries", "metric"], descending=[True, False])
        )

    def unread(self) -> pl.DataFrame:
        """The problems that no analysis reads: LogQL goes to the log analysis (``log_readers``),
        TraceQL to the trace attributes' readers (``analyze.attributes``); a query of every series
        (``every_series``) or of none (``no_metric``) was read, and reads no metric in particular."""
        read = [
            p in _READ_NONE or (p == "not_promql" and (m == "TraceQL" or bool(parse_logql(e or ""))))
            for p, e, m in zip(
                self.problems["problem"], self.problems["expr"], self.problems["message"], strict=True
            )
        ]
        return self.problems.filter(~pl.Series(read, dtype=pl.Boolean))

    def every_series(self) -> pl.DataFrame:
        """Readers that select every series (``{__name__=~".+"}``), counted as readers of none."""
        return self.problems.filter(pl.col("problem") == EVERY_SERIES)

    def read_none(self) -> pl.DataFrame:
        """Readers of no metric in particular: of every series, or of none (``vector(1)``)."""
        return self.problems.filter(pl.col("problem").is_in(_READ_NONE))

    def breaking(self, metric: str, labels: list[str] | None = None) -> list[Reader]:
        """Readers of ``metric`` that need one of ``labels`` (any reader, when labels is None)."""
        out = []
        for reader, every, need in self.readers.get(metric, []):
            if labels is None or any((lb not in need) if every else (lb in need) for lb in labels):
                out.append(reader)
        return unique(out)

    def guard(
        self, metric: str, labels: list[str] | None, effect: str, soft: bool = False
    ) -> tuple[str, str]:
        """What losing ``labels`` of ``metric`` (all of it: None) breaks → (risk text, risk level).

        ``soft``: the readers get coarser rather than break (fewer buckets); an SLO still breaks,
        its threshold may fall between the buckets kept. Losing buckets (``le``) spares the readers
        that select their buckets by bound: a bucket cut keeps those bounds.
        """
        if not self.known:
            return unknown_guard(metric, labels, effect, soft)
        readers = self.breaking(metric, labels)
        if labels == ["le"]:
            readers = [r for r in readers if r not in self.pinned.get(metric, frozenset())]
        breaking = [r for r in readers if r.kind == "slo"] if soft else readers
        tail = f"; {effect}" if effect else ""
        if breaking:
            level = max(breaking, key=lambda r: SEVERITY.get(r.kind, 0)).kind
            queried = f" ({self.query_note(metric)})" if any(r.kind == "query" for r in breaking) else ""
            return f"breaks {listing(breaking)}{queried}{tail}", level
        if readers:
            return f"coarser for {listing(readers)}{tail}", "coarser"
        if soft:
            return f"none known{tail}", "coarser"
        others = self.breaking(metric)
        if labels and others:
            what = "sums over " + ", ".join(labels)
            return (
                f"none known: {count(len(others), 'reader')} of it need no {', '.join(labels)}"
                f" (values become {what}: check readers that take max/min/avg over them)",
                "none",
            )
        return f"none known: nothing that was read uses it{self.window_note()}", "none"


def unknown_guard(metric: str, labels: list[str] | None, effect: str, soft: bool = False) -> tuple[str, str]:
    """The guard when no dashboards, rules or SLOs were read: say so."""
    return RISK_UNKNOWN + (f"; {effect}" if effect else ""), "unknown"


def _resolve(
    refs: pl.DataFrame, names: list[str], labels_of: dict[str, set[str]], families_of: dict[str, list[str]]
) -> pl.DataFrame:
    """Each ref with the concrete sample names it selects (refs to unknown names keep theirs)."""
    known = pl.Series("sample", names, dtype=pl.String)
    parts = [refs.filter(pl.col("name_match") == "exact").with_columns(sample=pl.col("metric"))]
    patterned = refs.filter(pl.col("name_match") != "exact")
    for (metric, match), group in patterned.group_by(["metric", "name_match"], maintain_order=True):
        if match == "any":
            rows = []
            for matchers, g in group.group_by("matchers"):
                want = set(matchers[0] or [])
                hits = [n for n in names if any(want <= labels_of.get(f, set()) for f in families_of[n])]
                rows.append(g.join(pl.DataFrame({"sample": hits}, schema={"sample": pl.String}), how="cross"))
            parts.extend(rows)
            continue
        anchored = f"^(?:{metric})$" if "regex" in str(match) else None
        try:
            hit = known.str.contains(anchored) if anchored else known == metric
        except pl.exceptions.ComputeError:
            continue  # an invalid regex selects nothing (Prometheus would refuse the query)
        if str(match).startswith("not_"):
            hit = ~hit
        parts.append(group.join(known.filter(hit).to_frame(), how="cross"))
    return pl.concat(parts, how="diagonal_relaxed") if parts else refs.with_columns(sample=pl.col("metric"))


def _pinned_readers(
    resolved: pl.DataFrame, families_of: dict[str, list[str]]
) -> dict[str, frozenset[Reader]]:
    """Per histogram, the direct readers whose every selector of its buckets names the bounds it reads."""
    buckets = resolved.filter(
        pl.col("sample").str.ends_with("_bucket") & pl.col("sample").is_in(list(families_of))
    )
    pinned: dict[str, set[Reader]] = defaultdict(set)
    for (sample, kind, name, panel), g in buckets.group_by(["sample", "kind", "name", "panel"]):
        if all(g["bounds"].to_list()):
            for family in families_of[str(sample)]:
                pinned[family].add(Reader(str(kind), str(name), panel))
    return {family: frozenset(readers) for family, readers in pinned.items()}


def _readers_by_sample(resolved: pl.DataFrame) -> dict[str, list[tuple[Reader, bool, frozenset[str]]]]:
    """Direct readers per sample name, then readers through recording rules (transitively)."""
    direct: dict[str, list[tuple[Reader, bool, frozenset[str]]]] = defaultdict(list)
    for row in resolved.iter_rows(named=True):
        reader = Reader(row["kind"], row["name"], row["panel"])
        direct[row["sample"]].append((reader, bool(row["all_labels"]), frozenset(row["labels"] or [])))
    result = {k: list(v) for k, v in direct.items()}
    for sample, entries in direct.items():
        # (rule, path to it, what the first rule needs of the sample: its output is what readers see)
        frontier = [(r.name, r.name, e, n) for r, e, n in entries if r.kind == "recording_rule"]
        seen = {f[0] for f in frontier}
        for _ in range(MAX_CHAIN):
            nxt = []
            for rule, path, every, need in frontier:
                for reader, _, _ in direct.get(rule, []):
                    result[sample].append((Reader(reader.kind, reader.name, reader.panel, path), every, need))
                    if reader.kind == "recording_rule" and reader.name not in seen:
                        seen.add(reader.name)
                        nxt.append((reader.name, f"{path} → {reader.name}", every, need))
            frontier = nxt
            if not frontier:
                break
    return result


def _present(store: Store, snapshot_id: int, families_of: dict[str, list[str]]) -> set[str]:
    """Sample names and families the snapshot has, and what Prometheus adds to each scrape of an exposition."""
    present = set(families_of) | {f for fs in families_of.values() for f in fs}
    if "exposition" in set(store.snapshot_sources(snapshot_id)["kind"]):
        present |= SCRAPE_METRICS
    return present


def analyze_usage(
    store: Store,
    snapshot_id: int,
    model: CostModel,
    metrics: pl.DataFrame,
    labels_by_metric: dict[str, list[str]],
) -> Usage:
    """Readers, needed labels, unused metrics and keep-only-used-labels savings of a snapshot."""
    refs = store.query(
        "SELECT source, metric, name_match, labels, all_labels, matchers, kind, name, panel, origin, expr, bounds,"
        " uses, clients, last_at FROM usage_refs WHERE snapshot_id = ?",
        [snapshot_id],
    )
    # known only when something was read: a folder of unrelated YAML must not make every metric unused
    known = refs.height > 0
    problems = store.query(
        "SELECT source, kind, name, panel, origin, expr, problem, message FROM usage_problems"
        " WHERE snapshot_id = ? ORDER BY source, name",
        [snapshot_id],
    )
    samples = store.query(
        "SELECT DISTINCT metric, family FROM metric_series WHERE snapshot_id = $snap"
        " UNION SELECT DISTINCT metric, family FROM counted_series WHERE snapshot_id = $snap",
        {"snap": snapshot_id},
    )
    # a sample name may belong to two families: a counter's x_total in one source, a family named
    # x_total in another (typed unknown there): a query of it reads both
    families_of: dict[str, list[str]] = defaultdict(list)
    for sample, family in samples.sort("metric", "family").iter_rows():
        families_of[sample].append(family)
    labels_of = {m: set(v) for m, v in labels_by_metric.items()}
    resolved = _resolve(refs, sorted(families_of), labels_of, families_of)
    by_sample = _readers_by_sample(resolved)
    pinned = _pinned_readers(resolved, families_of)
    readers: dict[str, list[tuple[Reader, bool, frozenset[str]]]] = defaultdict(list)
    for sample, entries in by_sample.items():
        for family in families_of.get(sample, ()):
            readers[family].extend(entries)
    logged = logged_queries(refs)
    queried: dict[str, QueryUse] = {}
    rows = []
    for row in metrics.select("metric", "series", "monthly_cost").iter_rows(named=True):
        family = row["metric"]
        entries = readers.get(family, [])
        distinct = unique([r for r, _, _ in entries])
        labels = labels_by_metric.get(family, [])
        needed = [
            lb for lb in labels if any((lb not in n) if every else (lb in n) for _, every, n in entries)
        ]
        counts = {k: len({r.name for r in distinct if r.kind == k}) for k in _READER_KINDS}
        use = query_use([r.name for r in distinct if r.kind == "query"], logged)
        if use is not None:
            queried[family] = use
        rows.append(
            {
                "metric": family,
                "status": "used" if distinct else "unused",
                "series": row["series"],
                "monthly_cost": row["monthly_cost"],
                "dashboards": counts["dashboard"],
                "alerts": counts["alert"],
                "recording_rules": counts["recording_rule"],
                "slos": counts["slo"],
                "queries": counts["query"],
                "query_runs": use.runs if use else 0,
                "queriers": use.queriers if use else 0,
                "last_queried_at": use.last_at if use else None,
                "readers": [r.describe() for r in distinct],
                "labels_needed": needed,
                "labels_unused": [lb for lb in labels if lb not in needed] if distinct else [],
            }
        )
    schema: dict[str, Any] = {
        "metric": pl.String, "status": pl.String, "series": pl.Int64, "monthly_cost": pl.Float64,
        "dashboards": pl.Int64, "alerts": pl.Int64, "recording_rules": pl.Int64, "slos": pl.Int64,
        "queries": pl.Int64, "query_runs": pl.Int64, "queriers": pl.Int64, "last_queried_at": pl.Float64,
        "readers": pl.List(pl.String), "labels_needed": pl.List(pl.String), "labels_unused": pl.List(pl.String),
    }  # fmt: skip
    frame = pl.DataFrame(rows, schema=schema) if known else pl.DataFrame(schema=schema)
    # a reader of every series reads no metric, and is a dashboard, alert… all the same
    read_none = problems.filter(pl.col("problem").is_in(_READ_NONE))
    counted = pl.concat([refs.select("kind", "name", "panel"), read_none.select("kind", "name", "panel")])
    everyone = frozenset((k, n, p if k in _RULE_KINDS else None) for k, n, p in counted.unique().iter_rows())
    return Usage(
        known=known,
        metrics=frame,
        keep_used=_keep_used(store, snapshot_id, model, frame, metrics) if known else _KEEP_EMPTY,
        problems=problems,
        readers=dict(readers) if known else {},
        pinned=pinned,
        everyone=everyone,
        missing=readers_of_missing(refs, _present(store, snapshot_id, families_of))
        if known and families_of
        else pl.DataFrame(schema=MISSING_SCHEMA),
        queried=queried,
        window=query_window(store, snapshot_id),
        query_runs=sum(u for u, _, _ in logged.values()),
    )


_KEEP_SCHEMA: dict[str, Any] = {
    "metric": pl.String, "dropped": pl.List(pl.String), "kept": pl.List(pl.String),
    "series_before": pl.Int64, "series_after": pl.Int64, "series_saved": pl.Int64, "monthly_savings": pl.Float64,
}  # fmt: skip
_KEEP_EMPTY = pl.DataFrame(schema=_KEEP_SCHEMA)


def keep_used_candidates(usage: pl.DataFrame) -> pl.DataFrame:
    """Per used metric: the labels nothing reads (``dropped``, never job/instance/le) and those kept."""
    candidates = usage.filter(pl.col("status") == "used").select(
        "metric",
        pl.col("labels_unused").list.filter(~pl.element().is_in(list(NEVER_DROPPED))).alias("dropped"),
        kept=pl.concat_list(
            "labels_needed", pl.col("labels_unused").list.filter(pl.element().is_in(list(NEVER_DROPPED)))
        )
        .list.unique()
        .list.sort(),
    )
    return candidates.filter(pl.col("dropped").list.len() > 0)


def _keep_used(
    store: Store, snapshot_id: int, model: CostModel, usage: pl.DataFrame, metrics: pl.DataFrame
) -> pl.DataFrame:
    """Per used metric with labels nothing needs: the exact series left keeping only the needed ones."""
    candidates = keep_used_candidates(usage)
    if candidates.is_empty():
        return _KEEP_EMPTY
    after = keep_only(store, snapshot_id, candidates.explode("dropped").rename({"dropped": "label"}))
    after = after.filter(pl.col("series_after").is_not_null())  # not counted by its backend yet
    cost = metrics.select("metric", "series", "monthly_cost")
    return (
        candidates.join(after, on="metric")
        .join(cost, on="metric")
        .with_columns(series_saved=pl.col("series") - pl.col("series_after"))
        .with_columns(
            monthly_savings=pl.col("monthly_cost")
            * pl.col("series_saved")
            / pl.col("series").clip(lower_bound=1)
        )
        .select(
            "metric",
            "dropped",
            "kept",
            pl.col("series").alias("series_before"),
            "series_after",
            "series_saved",
            "monthly_savings",
        )
        .filter(pl.col("series_saved") > 0)
        .sort(["monthly_savings", "metric"], descending=[True, False])
    )


__all__ = ["Reader", "Usage", "analyze_usage", "keep_used_candidates"]
