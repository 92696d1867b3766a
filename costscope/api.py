"""The Python API for notebooks: the same functions the CLI calls, returning polars frames.

Examples
--------
>>> import costscope
>>> ws = costscope.analyze(["sample_data"], db="/tmp/demo.duckdb")  # doctest: +SKIP
>>> ws.top_metrics().head(3)                                         # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from costscope.analyze import Analysis
from costscope.analyze.diff import Diff
from costscope.config import Config, discover_config
from costscope.errors import StoreError
from costscope.recommend.plan import Plan
from costscope.run import analyze_snapshot
from costscope.store.database import Store, default_db_path

if TYPE_CHECKING:  # plotly loads slowly: only the charts need it
    import plotly.graph_objects as go

    from costscope.simulate.engine import Simulation


class Workspace:
    """A costscope database opened for reading, with one method per question."""

    def __init__(self, db: str | Path, config: Config | None = None, *, show_values: bool = False) -> None:
        self.db = Path(db)
        self.config = config or Config()
        self.show_values = show_values
        self._cache: dict[int, Analysis] = {}

    def _store(self) -> Store:
        # open per call: a notebook must not hold the lock a scheduled run needs
        return Store.open(self.db, read_only=True)

    def snapshots(self) -> pl.DataFrame:
        """Every snapshot, newest first."""
        with self._store() as store:
            return store.snapshots()

    def analysis(self, snapshot_id: int | None = None) -> Analysis:
        """The analysis of ``snapshot_id`` (default: the newest complete or partial one)."""
        with self._store() as store:
            sid = snapshot_id if snapshot_id is not None else store.latest_snapshot_id()
            if sid is None:
                raise StoreError("no complete snapshot yet; run costscope analyze", path=str(self.db))
            if sid not in self._cache:
                self._cache[sid] = analyze_snapshot(
                    store,
                    sid,
                    self.config.pricing,
                    ownership=self.config.ownership,
                    show_values=self.show_values,
                    policies=self.config.sampling_policies,
                    constraints=self.config.sampling_constraints,
                )
            return self._cache[sid]

    def top_metrics(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Metrics by active series and monthly cost."""
        return self.analysis(snapshot_id).metrics

    def series_by_job(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Active series and monthly cost per job and metric."""
        return self.analysis(snapshot_id).by_job

    def series_by_team(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Active series and monthly cost per team (the config's ownership rules) and metric."""
        return self.analysis(snapshot_id).by_team

    def label_drops(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Series before/after dropping each label of each metric, and the money saved."""
        return self.analysis(snapshot_id).label_drops

    def labels(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Distinct values per label, with the reason where a label is risky."""
        return self.analysis(snapshot_id).labels

    def risky_labels(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Labels that look like identifiers or grow without bound, with the reason."""
        return self.analysis(snapshot_id).risky_labels

    def top_label_pairs(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """The label=value pairs carried by the most series (values of risky labels masked)."""
        return self.analysis(snapshot_id).top_pairs

    def histograms(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Per histogram/summary: buckets, label sets, series, and what fewer buckets or native would save."""
        return self.analysis(snapshot_id).histograms

    def recommendations(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Ranked actions with savings, risk and config."""
        return self.analysis(snapshot_id).recommendations

    def usage(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Per metric: its readers (dashboards, alerts, rules, SLOs), the labels they need, used or not."""
        return self.analysis(snapshot_id).usage.metrics

    def unused_metrics(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """Metrics no dashboard, alert, recording rule, SLO or logged query reads, most expensive first."""
        usage = self.analysis(snapshot_id).usage.metrics
        return usage.filter(pl.col("status") == "unused").sort("monthly_cost", descending=True)

    def errors(self, snapshot_id: int | None = None) -> pl.DataFrame:
        """What failed while collecting the snapshot."""
        return self.analysis(snapshot_id).errors

    def charts(self, snapshot_id: int | None = None) -> dict[str, go.Figure]:
        """The report's plotly figures: ``top_metrics``, ``treemap``, ``label_values``."""
        import plotly.graph_objects as go

        from costscope.report.html.charts import cost_treemap, label_values_chart, top_metrics_chart

        a = self.analysis(snapshot_id)
        charts = {
            "top_metrics": top_metrics_chart(a),
            "treemap": cost_treemap(a),
            "label_values": label_values_chart(a),
        }
        return {name: go.Figure(chart.spec) for name, chart in charts.items() if chart is not None}

    def query(self, sql: str) -> pl.DataFrame:
        """Any read-only SQL over the store's tables (see docs/schema.md)."""
        with self._store() as store:
            return store.query(sql)


def open(
    db: str | Path | None = None, *, config: str | Path | None = None, show_values: bool = False
) -> Workspace:
    """Open a costscope database (default ``$COSTSCOPE_DB`` or ./costscope.duckdb) for reading.

    The config is found as the CLI finds it: ``config``, ``$COSTSCOPE_CONFIG``, ./costscope.yaml.
    """
    cfg = discover_config(config)
    path = Path(db) if db is not None else default_db_path()
    if not path.exists():
        raise StoreError("no such database; run costscope analyze first", path=str(path))
    return Workspace(path, cfg, show_values=show_values)


def analyze(
    sources: Sequence[str] = (),
    *,
    db: str | Path | None = None,
    config: str | Path | None = None,
    show_values: bool = False,
    collect: str | None = None,
) -> Workspace:
    """Collect ``sources`` into a new snapshot of ``db``, analyze it, and return the workspace.

    The config is found as the CLI finds it (``config``, ``$COSTSCOPE_CONFIG``, ./costscope.yaml),
    so the same sources give the same analysis from a notebook as from ``costscope analyze``;
    ``collect`` is ``--collect`` (series, counts or auto for Prometheus-compatible APIs).
    """
    from costscope.run import run_analysis

    cfg = discover_config(config)
    if collect is not None:
        cfg = dataclasses.replace(cfg, collect=collect)
    path = Path(db) if db is not None else default_db_path()
    with Store.open(path) as store:
        _, analysis = run_analysis(store, builtins.list(sources), cfg, show_values=show_values)
    ws = Workspace(path, cfg, show_values=show_values)
    ws._cache[analysis.snapshot_id] = analysis
    return ws


def write_report(ws: Workspace, path: str | Path, snapshot_id: int | None = None) -> Path:
    """Write the HTML report of a workspace's snapshot (default: the newest) to ``path``, as the CLI does."""
    from costscope.analyze.trends import history
    from costscope.report.html import write_report as write_html

    analysis = ws.analysis(snapshot_id)
    with ws._store() as store:
        past = history(store)
    target = Path(path)
    write_html(analysis, target, past)
    return target


def simulate_traces(
    sources: Sequence[str] = (),
    *,
    db: str | Path | None = None,
    config: str | Path | None = None,
    policies: str | Path | None = None,
) -> Simulation:
    """Compare sampling policies on the traces of ``sources`` (as ``costscope simulate traces``)."""
    from costscope.run import run_simulation

    cfg = discover_config(config)
    path = Path(db) if db is not None else default_db_path()
    with Store.open(path) as store:
        _, sim = run_simulation(
            store, builtins.list(sources), cfg, policies_file=Path(policies) if policies else None
        )
    return sim


def diff(
    base: str,
    head: str,
    *,
    db: str | Path | None = None,
    config: str | Path | None = None,
    budgets: str | Path | None = None,
) -> Diff:
    """What HEAD does to the bill against BASE (as ``costscope diff``): each an exposition file or
    URL, a Parquet export, or a snapshot id of ``db``."""
    from costscope.run import run_diff

    cfg = discover_config(config)
    return run_diff(
        base, head, cfg, db=Path(db) if db is not None else None, budgets=Path(budgets) if budgets else None
    )


def plan(
    sources: Sequence[str] = (),
    *,
    db: str | Path | None = None,
    config: str | Path | None = None,
    risk_up_to: str = "none",
    top: int | None = None,
    ranks: Sequence[int] | None = None,
) -> Plan:
    """Collect ``sources`` into a new snapshot and compute the bill after the chosen actions applied
    together (as ``costscope plan``; write it out with ``costscope.report.plan.write_plan``)."""
    from costscope.run import run_plan

    cfg = discover_config(config)
    path = Path(db) if db is not None else default_db_path()
    with Store.open(path) as store:
        _, result = run_plan(store, builtins.list(sources), cfg, risk_up_to=risk_up_to, top=top, ranks=ranks)
    return result
