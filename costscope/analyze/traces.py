"""Trace cost by service and operation, and the sampling policies compared on the snapshot's spans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from costscope.analyze.attributes import (
    ATTRIBUTE_SCHEMA,
    OTEL_ATTRIBUTE_SCHEMA,
    attribute_costs,
    merge_readers,
    otel_attribute_costs,
    policy_readers,
    traceql_readers,
)
from costscope.pricing import MONTH_S, CostModel
from costscope.simulate.engine import Constraints, Simulation, simulate
from costscope.simulate.policies import Policy
from costscope.simulate.policies_file import DEFAULT_POLICIES
from costscope.store.database import Store

SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "service", "operation", "kind", "status", "start_unix_ns",
    "duration_ns", "attributes", "approx_bytes", "attrs", "sample_weight",
)  # fmt: skip


@dataclass(frozen=True)
class TracesAnalysis:
    """Spans per service × operation with money, and the sampling simulation (None without spans)."""

    operations: pl.DataFrame
    sampling: Simulation | None
    # per span attribute key: bytes, money, what deleting/hashing/truncating saves (analyze.attributes)
    attributes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ATTRIBUTE_SCHEMA))
    # per OTLP resource attribute key, as copied onto every span of the resource (analyze.attributes)
    resource_attributes: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=OTEL_ATTRIBUTE_SCHEMA)
    )

    @property
    def known(self) -> bool:
        """Whether the snapshot holds spans."""
        return self.operations.height > 0

    @property
    def monthly_cost(self) -> float:
        """Monthly cost of all spans under the model."""
        return float(self.operations["monthly_cost"].sum()) if self.operations.height else 0.0


def trace_operations(store: Store, snapshot_id: int, model: CostModel) -> pl.DataFrame:
    """Spans, traces, bytes and errors per service × operation, with monthly volume and money."""
    df = store.query(
        "SELECT service, operation, sum(spans) AS spans, sum(traces) AS traces, sum(bytes) AS bytes,"
        " sum(error_spans) AS error_spans, max(period_s) AS period_s, max(p50_ms) AS p50_ms, max(p99_ms) AS p99_ms"
        " FROM trace_operations WHERE snapshot_id = ? GROUP BY service, operation",
        [snapshot_id],
    )
    scale = MONTH_S / pl.col("period_s").fill_null(MONTH_S)
    return (
        df.with_columns(monthly_spans=pl.col("spans") * scale, monthly_bytes=pl.col("bytes") * scale)
        .with_columns(monthly_cost=model.trace_cost(pl.col("monthly_spans"), pl.col("monthly_bytes")))
        .sort(["monthly_cost", "spans", "service", "operation"], descending=[True, True, False, False])
    )


def snapshot_spans(store: Store, snapshot_id: int) -> pl.DataFrame:
    """Every span of a snapshot, as the simulator reads them."""
    cols = ", ".join(SPAN_COLUMNS)
    return store.query(f"SELECT {cols} FROM spans WHERE snapshot_id = ?", [snapshot_id])


def traced_period(store: Store, snapshot_id: int) -> float | None:
    """Seconds a snapshot's traces cover (the longest of its sources'), None without traces."""
    ((period,),) = store.conn.execute(
        "SELECT max(period_s) FROM trace_operations WHERE snapshot_id = ?", [snapshot_id]
    ).fetchall()
    return float(period) if period else None


def analyze_traces(
    store: Store,
    snapshot_id: int,
    model: CostModel,
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    constraints: Constraints | None = None,
) -> TracesAnalysis:
    """Trace costs of a snapshot, and its spans run through ``policies``."""
    ops = trace_operations(store, snapshot_id, model)
    if ops.is_empty():
        return TracesAnalysis(ops, None)
    spans = snapshot_spans(store, snapshot_id)
    queries = traceql_readers(store, snapshot_id)
    period = traced_period(store, snapshot_id)
    return TracesAnalysis(
        ops,
        simulate(spans, list(policies), model, constraints, period_s=period),
        attribute_costs(store, snapshot_id, model, period, policies, queries["span"]),
        otel_attribute_costs(
            store, snapshot_id, "traces", model, merge_readers(policy_readers(policies), queries["resource"])
        ),
    )
