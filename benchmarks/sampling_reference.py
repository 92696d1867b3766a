"""A straightforward per-trace Python version of ``simulate`` for the benchmark's policy types.

The baseline ``benchmarks/sampling.py`` times, and a second implementation the engine is checked
against (tests/simulate/test_reference.py): spans grouped into traces with a dict, each trace's
facts computed once, then per policy a decision per trace and RED per service × operation from
the kept spans — Horvitz–Thompson counts and variances, weighted quantiles — next to the truth
from every span. Same definitions as the engine, written the obvious way.

Policy types: ``probabilistic``, ``tail_sampling`` (status_code, latency, probabilistic),
``refinery_rules`` (conditions on error and duration_ms), ``refinery_dynamic`` (EMA per key of
service.name and name) and ``jaeger`` (per-service probabilistic strategies).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from typing import Any

from costscope.pricing import MONTH_S, CostModel
from costscope.simulate.consistent import MAX_THRESHOLD, probability, threshold
from costscope.simulate.policies import Policy

QUANTILES = (0.5, 0.95, 0.99)
Z95 = 1.959964
SLACK = 1 - 1e-12
MIN_SPANS_FOR_P99 = 100


def _trace_facts(spans: list[dict[str, Any]]) -> dict[str, Any]:
    roots = [s for s in spans if s["parent_span_id"] is None]
    root = roots[0] if roots else min(spans, key=lambda s: s["start_unix_ns"])
    start = min(s["start_unix_ns"] for s in spans)
    end = max(s["start_unix_ns"] + s["duration_ns"] for s in spans)
    return {
        "spans": spans, "root": root, "start_ns": start, "duration_ms": (end - start) / 1e6,
        "error": any(s["status"] == "ERROR" for s in spans), "r": int(spans[0]["trace_id"][-14:], 16),
        "trace_id": spans[0]["trace_id"],
        "bytes": sum(s["approx_bytes"] for s in spans),
    }  # fmt: skip


def _dynamic_rates(traces: list[dict[str, Any]], spec: dict[str, Any]) -> dict[tuple[int, str], float]:
    interval = float(spec.get("adjustment_interval_s", 15))
    weight = float(spec.get("weight", 0.5))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in traces:
        counts[int(t["start_ns"] // 1_000_000_000 // interval)][t["key"]] += 1
    rates, state = {}, {}
    for bucket in sorted(counts):
        seen = counts[bucket]
        for k in set(state) | set(seen):
            now = seen.get(k, 0)
            state[k] = weight * now + (1 - weight) * state.get(k, now)
        live = {k: v for k, v in state.items() if v >= 1}
        goal = sum(live.values()) / max(1.0, float(spec.get("goal_sample_rate", 10)))
        ratio = goal / (sum(math.log10(v) for v in live.values() if v > 1) or 1.0)
        for k, v in live.items():
            target = max(1.0, math.log10(v) * ratio) if v > 1 else 1.0
            rates[(bucket, k)] = max(1.0, v / target)
    return rates


def _refinery_keep(trace_id: str, rate: float) -> bool:
    """Refinery: the first 4 bytes of SHA-1(trace id + salt), big-endian, at most (2^32-1) // N."""
    digest = hashlib.sha1((trace_id + "5VQ8l2jE5aJLPVqk").encode()).digest()
    return int.from_bytes(digest[:4], "big") <= (2**32 - 1) // max(1, int(rate))


def _decide(policy: Policy, traces: list[dict[str, Any]]) -> list[tuple[bool, float | None]]:
    """(keep, probability or None) per trace."""
    spec, kind = policy.spec, policy.type
    if kind == "probabilistic":
        t = threshold(spec["sampling_percentage"] / 100)
        return [(x["r"] >= t, probability(t)) for x in traces]
    if kind == "tail_sampling":
        out = []
        for x in traces:
            keep = False
            for sub in spec["policies"]:
                conf = sub[sub["type"]]
                if sub["type"] == "status_code":
                    keep = keep or any(s["status"] in conf["status_codes"] for s in x["spans"])
                elif sub["type"] == "latency":
                    keep = keep or x["duration_ms"] >= conf["threshold_ms"]
                else:
                    keep = keep or x["r"] >= threshold(conf["sampling_percentage"] / 100)
            out.append((keep, None))
        return out
    if kind == "refinery_rules":
        out = []
        for x in traces:
            rate = 1.0
            for rule in spec["rules"]:
                fields = {"error": x["error"], "duration_ms": x["duration_ms"]}
                if all(
                    fields[c["field"]] == c["value"]
                    if c["operator"] == "="
                    else fields[c["field"]] >= c["value"]
                    for c in rule.get("conditions", [])
                ):
                    rate = float(rule["sample_rate"])
                    break
            out.append((_refinery_keep(x["trace_id"], rate), 1 / rate))
        return out
    if kind == "refinery_dynamic":
        for x in traces:
            x["key"] = f"{x['root']['service']}\x1f{x['root']['operation']}"
        rates = _dynamic_rates(traces, spec)
        interval = float(spec.get("adjustment_interval_s", 15))
        out = []
        for x in traces:
            rate = rates.get((int(x["start_ns"] // 1_000_000_000 // interval), x["key"]), 1.0)
            out.append((_refinery_keep(x["trace_id"], rate), 1 / rate))
        return out
    if kind == "jaeger":
        per_service = {s["service"]: s["param"] for s in spec.get("service_strategies", [])}
        out = []
        for x in traces:
            param = per_service.get(x["root"]["service"], spec["default_strategy"]["param"])
            out.append((x["r"] >= int((1 - param) * MAX_THRESHOLD), param))
        return out
    raise ValueError(f"the reference does not know {kind}")


def _weighted_quantile(values: list[tuple[float, float]], q: float) -> float:
    """Smallest duration whose cumulative weight reaches q of the total (values sorted)."""
    total = 0.0
    for _, w in values:
        total += w
    acc = 0.0
    for d, w in values:
        acc += w
        if acc >= q * total * SLACK:
            return d
    return values[-1][0]


def reference(
    rows: list[dict[str, Any]], policies: list[Policy], model: CostModel, period_s: float
) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], dict[str, Any]]]:
    """Per policy the summary row, and per (policy, service, operation) the RED row, as ``simulate`` gives them."""
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_trace[r["trace_id"]].append(r)
    traces = [_trace_facts(spans) for spans in by_trace.values()]
    scale = MONTH_S / period_s
    all_spans = sum(len(x["spans"]) for x in traces)
    full_cost = model.trace_cost(all_spans * scale, sum(x["bytes"] for x in traces) * scale)
    durations = sorted(x["duration_ms"] for x in traces)
    slow_ms = durations[int((len(durations) - 1) * 0.99 + 0.5)]
    true_ops: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
    for r in rows:
        true_ops[(r["service"], r["operation"])].append((r["duration_ns"] / 1e6, r["status"] == "ERROR"))
    truth = {}
    for op, spans in true_ops.items():
        ds = sorted(d for d, _ in spans)
        n = len(ds)
        truth[op] = {"n": n, "e": sum(e for _, e in spans)} | {
            f"p{round(q * 100)}_true": ds[max(math.ceil(n * q), 1) - 1] for q in QUANTILES
        }
    summary, red = [], {}
    for policy in policies:
        decisions = _decide(policy, traces)
        estimable = all(p is not None for _, p in decisions)
        kept_ops: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        pairs: dict[tuple[str, str], list[tuple[int, int, float]]] = defaultdict(list)
        kept_spans = kept_bytes = kept_traces = kept_errors = kept_slow = 0
        for x, (keep, p) in zip(traces, decisions, strict=True):
            if not keep:
                continue
            p = p if p is not None else 1.0
            kept_traces += 1
            kept_spans += len(x["spans"])
            kept_bytes += x["bytes"]
            kept_errors += x["error"]
            kept_slow += x["duration_ms"] > slow_ms
            per_op: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
            for s in x["spans"]:
                op = (s["service"], s["operation"])
                kept_ops[op].append((s["duration_ns"] / 1e6, 1 / p))
                per_op[op][0] += 1
                per_op[op][1] += s["status"] == "ERROR"
            for op, (n_t, e_t) in per_op.items():
                pairs[op].append((n_t, e_t, p))
        cost = model.trace_cost(kept_spans * scale, kept_bytes * scale)
        worst_p99 = worst_rate = None
        for op, true in truth.items():
            row = dict(true)
            if op in pairs:
                n_hat = sum(n / p for n, _, p in pairs[op])
                e_hat = sum(e / p for _, e, p in pairs[op])
                r_hat = e_hat / n_hat
                var_n = sum(n * n * (1 - p) / p**2 for n, _, p in pairs[op])
                var_r = sum((1 - p) / p**2 * (e - r_hat * n) ** 2 for n, e, p in pairs[op]) / n_hat**2
                values = sorted(kept_ops[op])
                row |= {"rate_est": n_hat / period_s, "error_rate_est": r_hat}
                row |= {f"p{round(q * 100)}_est": _weighted_quantile(values, q) for q in QUANTILES}
                if estimable:
                    half_n, half_r = Z95 * math.sqrt(var_n) / period_s, Z95 * math.sqrt(var_r)
                    row |= {"rate_ci_low": row["rate_est"] - half_n, "rate_ci_high": row["rate_est"] + half_n,
                            "error_rate_ci_low": max(0.0, r_hat - half_r), "error_rate_ci_high": min(1.0, r_hat + half_r)}  # fmt: skip
            rate_true = true["n"] / period_s
            row["rate_error"] = (row.get("rate_est", 0.0) - rate_true) / rate_true
            row["p99_error"] = (
                abs(row["p99_est"] - true["p99_true"]) / true["p99_true"] if "p99_est" in row else None
            )
            red[(policy.name, *op)] = row
            if true["n"] >= MIN_SPANS_FOR_P99:
                p99 = row["p99_error"] if row["p99_error"] is not None else 1.0
                worst_p99 = p99 if worst_p99 is None else max(worst_p99, p99)
                worst_rate = (
                    abs(row["rate_error"]) if worst_rate is None else max(worst_rate, abs(row["rate_error"]))
                )
        errors = sum(x["error"] for x in traces)
        slow = sum(x["duration_ms"] > slow_ms for x in traces)
        summary.append({
            "policy": policy.name, "estimable": estimable, "kept_traces": kept_traces, "kept_spans": kept_spans,
            "monthly_cost": cost, "monthly_savings": full_cost - cost,
            "error_traces_kept": kept_errors / errors if errors else 1.0,
            "slow_traces_kept": kept_slow / slow if slow else 1.0,
            "worst_p99_error": worst_p99, "worst_rate_error": worst_rate,
        })  # fmt: skip
    return summary, red
