"""Sampling: consistent-sampling arithmetic from the spec, policy semantics, honest error bars."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from costscope.errors import ConfigError
from costscope.pricing import cost_model
from costscope.simulate.consistent import decode_th, encode_th, probability, randomness, threshold
from costscope.simulate.engine import Constraints, simulate, traffic_of
from costscope.simulate.policies import Policy, decide
from costscope.simulate.policies_file import parse_policies
from costscope.sources.traces import SPAN_SCHEMA

# --- consistent probability sampling, values worked out by hand from the specification --------------


@pytest.mark.parametrize(
    ("p", "th"),
    [
        (1.0, "0"),  # keep everything: T = 0
        (0.5, "8"),  # T = 2^55 = 0x80000000000000
        (0.25, "c"),  # T = 3 * 2^54 = 0xc0000000000000
        (0.125, "e"),
        # the double nearest 1/3 is 1.85e-17 below it: T = (1 - p) * 2^56 = 48038396025285292.0 exactly
        (1 / 3, "aaaaaaaaaaaaac"),
        (0.1, "e6666666666666"),  # T = 0.9 * 2^56 = 64851834634135142.4, rounded: 0xe6666666666666
    ],
)
def test_threshold_encoding(p: float, th: str) -> None:
    assert encode_th(threshold(p)) == th
    assert decode_th(th) == threshold(p)
    assert probability(decode_th(th)) == pytest.approx(p, rel=1e-12)


def test_keep_decision_on_the_56_random_bits() -> None:
    t = threshold(0.25)  # keep when R >= 0xc0000000000000
    keep_id = "0123456789abcdef00" + "c0000000000000"
    drop_id = "0123456789abcdef00" + "bfffffffffffff"
    assert randomness(keep_id) == 0xC0000000000000 >= t
    assert randomness(drop_id) < t
    assert randomness(drop_id, rv="ffffffffffffff") >= t  # an explicit rv wins over the id


@pytest.mark.parametrize("bad", ["", "g", "123456789abcdef"])
def test_invalid_th(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_th(bad)


# --- a traffic generator ---------------------------------------------------------------------------


def spans_of(n_traces: int, seed: int, error_rate: float = 0.02, slow_rate: float = 0.02) -> pl.DataFrame:
    """Traces of a frontend and a database span; some errors, some slow database waits."""
    rng = np.random.default_rng(seed)
    hi = rng.integers(0, 2**63, n_traces, dtype=np.int64)
    lo = rng.integers(0, 2**63, n_traces, dtype=np.int64)
    ids = [f"{a:016x}{b:016x}" for a, b in zip(hi, lo, strict=True)]
    start = 1_764_064_800 * 10**9 + rng.integers(0, 600 * 10**9, n_traces)
    op = rng.choice(["GET /cart", "POST /checkout", "GET /search"], n_traces, p=[0.5, 0.2, 0.3])
    err = rng.random(n_traces) < error_rate
    slow = rng.random(n_traces) < slow_rate
    base = rng.gamma(4.0, 10.0, n_traces)  # ms
    db = np.where(slow, 800 + rng.random(n_traces) * 200, base * 0.3)
    rows = {k: [] for k in SPAN_SCHEMA}
    for i in range(n_traces):
        for j, (svc, name, parent, dur, status) in enumerate(
            (("frontend", op[i], None, base[i] + db[i], "ERROR" if err[i] else "UNSET"),
             ("postgres", "SELECT", f"{i:015x}0", db[i], "UNSET"))
        ):  # fmt: skip
            rows["trace_id"].append(ids[i])
            rows["span_id"].append(f"{i:015x}{j}")
            rows["parent_span_id"].append(parent)
            rows["service"].append(svc)
            rows["operation"].append(name)
            rows["kind"].append("SERVER")
            rows["status"].append(status)
            rows["start_unix_ns"].append(int(start[i]) + j * 1000)
            rows["duration_ns"].append(int(dur * 1e6))
            rows["attributes"].append(1)
            rows["approx_bytes"].append(200)
            rows["attrs"].append(
                json.dumps({"user.tier": "pro" if i % 10 == 0 else "free", "retries": i % 4})
            )
            rows["sample_weight"].append(1.0)
    return pl.DataFrame(rows, schema=SPAN_SCHEMA)


HEAD10 = Policy("head-10", "probabilistic", {"sampling_percentage": 10})


def test_head_sampling_keeps_whole_traces_at_the_rate() -> None:
    spans = spans_of(4000, seed=1)
    decision = decide(HEAD10, traffic_of(spans))
    assert decision["keep"].mean() == pytest.approx(0.10, abs=0.015)
    assert decision["p"].unique().to_list() == [pytest.approx(0.1)]
    kept = spans.join(decision, on="trace_id").group_by("trace_id").agg(pl.col("keep").n_unique())
    assert kept["keep"].max() == 1  # spans of a trace share its fate


def test_tail_sampling_decision_rule() -> None:
    spans = spans_of(3000, seed=2)
    traffic = traffic_of(spans)
    tail = Policy("t", "tail_sampling", {"policies": [
        {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
        {"name": "slow", "type": "latency", "latency": {"threshold_ms": 700}},
        {"name": "no-pro", "type": "drop", "drop": {"drop_sub_policy": [
            {"name": "pro", "type": "string_attribute", "string_attribute": {"key": "user.tier", "values": ["pro"]}},
        ]}},
    ]})  # fmt: skip
    d = traffic.traces.join(decide(tail, traffic), on="trace_id")
    pro = set(spans.filter(pl.col("attrs").str.contains('"pro"'))["trace_id"])
    wanted = d.filter(
        (pl.col("error") | (pl.col("duration_ms") >= 700)) & ~pl.col("trace_id").is_in(list(pro))
    )
    assert set(d.filter(pl.col("keep"))["trace_id"]) == set(
        wanted["trace_id"]
    )  # any drop wins, else any sample
    assert d["p"].null_count() == d.height  # a tail decision carries no probability


def test_numeric_boolean_span_count_and_rate_limiting() -> None:
    traffic = traffic_of(spans_of(2000, seed=3))
    num = Policy("n", "tail_sampling", {"policies": [
        {"name": "r", "type": "numeric_attribute", "numeric_attribute": {"key": "retries", "min_value": 3}}]})  # fmt: skip
    assert decide(num, traffic)["keep"].mean() == pytest.approx(0.25, abs=0.01)
    count = Policy(
        "c",
        "tail_sampling",
        {"policies": [{"name": "s", "type": "span_count", "span_count": {"min_spans": 3}}]},
    )
    assert not decide(count, traffic)["keep"].any()
    rate = Policy("r", "tail_sampling", {"policies": [
        {"name": "r", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 2}}]})  # fmt: skip
    kept = traffic.traces.join(decide(rate, traffic), on="trace_id").filter(pl.col("keep"))
    assert kept.group_by("start_s").agg(pl.col("spans").sum())["spans"].max() <= 2


def test_refinery_rules_first_match_and_sample_rate() -> None:
    traffic = traffic_of(spans_of(5000, seed=4))
    rules = Policy("r", "refinery_rules", {"rules": [
        {"name": "errors", "sample_rate": 1, "conditions": [{"field": "error", "operator": "=", "value": True}]},
        {"name": "cart", "drop": True, "conditions": [{"field": "name", "operator": "=", "value": "GET /cart"}]},
        {"name": "rest", "sample_rate": 10},
    ]})  # fmt: skip
    d = traffic.traces.join(decide(rules, traffic), on="trace_id")
    assert d.filter(pl.col("error"))["keep"].all()
    assert not d.filter(~pl.col("error") & (pl.col("root_operation") == "GET /cart"))["keep"].any()
    rest = d.filter(~pl.col("error") & (pl.col("root_operation") != "GET /cart"))
    assert rest["keep"].mean() == pytest.approx(0.1, abs=0.02) and rest["p"].unique().to_list() == [0.1]


def _refinery_keeps(trace_id: str, rate: int) -> bool:
    """Refinery's DeterministicSampler, written out from its Go code (sample/deterministic.go)."""
    import hashlib

    v = int.from_bytes(hashlib.sha1((trace_id + "5VQ8l2jE5aJLPVqk").encode()).digest()[:4], "big")
    return v <= (2**32 - 1) // rate


@pytest.mark.parametrize("rate", [2, 4, 7, 100])
def test_refinery_deterministic_decides_as_refinery_does(rate: int) -> None:
    traffic = traffic_of(spans_of(3000, seed=11))
    d = decide(Policy("d", "refinery_deterministic", {"sample_rate": rate}), traffic)
    expected = [_refinery_keeps(t, rate) for t in d["trace_id"].to_list()]
    assert d["keep"].to_list() == expected
    assert d["p"].unique().to_list() == [1 / rate]


def test_sequential_trace_ids_are_not_biased() -> None:
    """Ids 1, 2, 3, ... share their high bits: the raw bits would keep almost all or nothing."""
    spans = spans_of(4000, seed=12)
    ids = spans["trace_id"].unique(maintain_order=True).to_list()
    sequential = {t: f"{i + 1:032x}" for i, t in enumerate(ids)}
    spans = spans.with_columns(pl.col("trace_id").replace_strict(sequential))
    traffic = traffic_of(spans)
    for policy in (
        Policy("d", "refinery_deterministic", {"sample_rate": 4}),
        Policy("r", "refinery_rules", {"rules": [{"name": "all", "sample_rate": 4}]}),
    ):
        d = decide(policy, traffic)
        assert d["keep"].mean() == pytest.approx(0.25, abs=0.03), policy.name
    d = decide(Policy("d", "refinery_deterministic", {"sample_rate": 4}), traffic)
    assert d["keep"].to_list() == [_refinery_keeps(t, 4) for t in d["trace_id"].to_list()]


def test_refinery_dynamic_keeps_rare_keys_more() -> None:
    traffic = traffic_of(spans_of(6000, seed=5))
    dyn = Policy("d", "refinery_dynamic", {"goal_sample_rate": 10, "field_list": ["name"]})
    d = traffic.traces.join(decide(dyn, traffic), on="trace_id")
    by = d.group_by("root_operation").agg(pl.col("p").mean()).sort("root_operation")
    p = dict(by.rows())
    assert p["POST /checkout"] > p["GET /cart"]  # the rarest key gets the highest probability
    assert 0.05 < d["keep"].mean() < 0.25


def test_jaeger_strategies_per_operation() -> None:
    traffic = traffic_of(spans_of(5000, seed=6))
    jaeger = Policy("j", "jaeger", {
        "default_strategy": {"type": "probabilistic", "param": 0.05},
        "service_strategies": [{"service": "frontend", "type": "probabilistic", "param": 0.2,
                                "operation_strategies": [{"operation": "POST /checkout", "type": "probabilistic",
                                                          "param": 1.0}]}],
    })  # fmt: skip
    d = traffic.traces.join(decide(jaeger, traffic), on="trace_id")
    rates = dict(d.group_by("root_operation").agg(pl.col("keep").mean()).rows())
    assert rates["POST /checkout"] == 1.0 and rates["GET /cart"] == pytest.approx(0.2, abs=0.03)


# --- statistics: unbiased estimates, honest intervals ---------------------------------------------------


def test_horvitz_thompson_is_unbiased_and_intervals_cover() -> None:
    model = cost_model("honeycomb")
    errors, covered, total = [], 0, 0
    for seed in range(120):
        sim = simulate(spans_of(1500, seed=100 + seed), [HEAD10], model)
        red = sim.red.filter(pl.col("operation") == "GET /cart").row(0, named=True)
        errors.append((red["rate_est"] - red["rate_true"]) / red["rate_true"])
        covered += red["rate_ci_low"] <= red["rate_true"] <= red["rate_ci_high"]
        total += 1
    # unbiased: the mean relative error is within three standard errors of 0
    assert abs(float(np.mean(errors))) < 3 * float(np.std(errors)) / len(errors) ** 0.5
    assert 0.89 <= covered / total <= 0.99  # the stated 95% intervals cover ~95% of the time


def test_tail_rules_are_flagged_not_estimable() -> None:
    tail = Policy("t", "tail_sampling", {"policies": [
        {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
        {"name": "rest", "type": "probabilistic", "probabilistic": {"sampling_percentage": 5}}]})  # fmt: skip
    sim = simulate(spans_of(3000, seed=7), [HEAD10, tail], cost_model("honeycomb"))
    row = sim.summary.filter(pl.col("policy") == "t").row(0, named=True)
    assert not row["estimable"] and row["error_traces_kept"] == 1.0
    red = sim.red.filter(pl.col("policy") == "t")
    assert red["rate_ci_low"].null_count() == red.height  # no interval where no probability is known
    assert (
        red.filter(pl.col("operation") == "GET /cart")["rate_error"][0] < -0.8
    )  # the naive count is badly low


def test_the_cheapest_policy_meeting_the_constraints_is_recommended() -> None:
    spans = spans_of(4000, seed=8)
    rules = Policy("rules", "refinery_rules", {"rules": [
        {"name": "e", "sample_rate": 1, "conditions": [{"field": "error", "operator": "=", "value": True}]},
        {"name": "s", "sample_rate": 1, "conditions": [{"field": "duration_ms", "operator": ">=", "value": 700}]},
        {"name": "rest", "sample_rate": 5}]})  # fmt: skip
    everything = Policy("all", "probabilistic", {"sampling_percentage": 100})
    sim = simulate(
        spans, [HEAD10, rules, everything], cost_model("honeycomb"), Constraints(max_p99_error=0.10)
    )
    assert sim.recommended == "rules"
    assert sim.summary.filter(pl.col("policy") == "head-10")["meets_constraints"][0] is False
    again = simulate(
        spans, [HEAD10, rules, everything], cost_model("honeycomb"), Constraints(max_p99_error=0.10)
    )
    assert again.summary.equals(sim.summary)  # deterministic


# --- policies files ---------------------------------------------------------------------------------------

BAD_POLICIES = [
    ("policies: [\n", 2, "", "invalid YAML"),
    ("constraints: {}\n", 1, "", "needs policies"),
    ("policies:\n  - name: a\n", 2, "policies[0]", "needs a type"),
    ("policies:\n  - type: head\n", 2, "policies[0].type", "unknown policy type"),
    ("policies:\n  - type: probabilistic\n", 2, "policies[0]", "needs sampling_percentage"),
    ("policies:\n  - type: probabilistic\n    sampling_percentage: 0\n", 3, "policies[0].sampling_percentage", "percentage"),
    ("policies:\n  - type: probabilistic\n    sampling_percentage: 5\n    extra: 1\n", 4, "policies[0].extra", "unknown key"),
    ("policies:\n  - type: tail_sampling\n", 2, "policies[0]", "needs policies"),
    ("policies:\n  - type: tail_sampling\n    policies:\n      - {type: latency_ms}\n", 4, "policies[0].policies[0].type", "unknown tail_sampling"),
    ("policies:\n  - type: refinery_rules\n    rules:\n      - {sample_rate: 0}\n", 4, "policies[0].rules[0].sample_rate", "integer"),
    ("policies:\n  - {name: a, type: probabilistic, sampling_percentage: 5}\n  - {name: a, type: probabilistic, sampling_percentage: 6}\n", 3, "policies[1]", "duplicate policy name"),
    ("policies:\n  - {type: probabilistic, sampling_percentage: 5}\nconstraints: {max_p99_error: -1}\n", 3, "constraints.max_p99_error", "non-negative"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "field", "phrase"), BAD_POLICIES, ids=[c[3] for c in BAD_POLICIES])
def test_invalid_policies_name_file_line_and_field(text: str, line: int, field: str, phrase: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_policies(text, "p.yaml")
    assert err.value.file == "p.yaml" and err.value.line == line and err.value.field == field
    assert phrase in str(err.value)


def test_policies_example_in_the_docs_parses(tmp_path: Path) -> None:
    from costscope.simulate import policies_file

    example = policies_file.__doc__.split("\n\n", 1)[1].split("\n\nEvery error")[0]
    policies, constraints = parse_policies("\n".join(line[4:] for line in example.splitlines()), "doc")
    assert [p.type for p in policies] == ["probabilistic", "tail_sampling"] and constraints.slo_ms == 500


def test_traces_from_a_sampled_input_count_with_their_weight() -> None:
    spans = spans_of(200, seed=12)
    first = spans["trace_id"].unique(maintain_order=True).head(100)
    weighted = spans.with_columns(
        sample_weight=pl.when(pl.col("trace_id").is_in(first)).then(4.0).otherwise(None)
    )  # 100 traces kept 1 in 4 upstream; the others say nothing (counted once)
    everything = Policy("all", "probabilistic", {"sampling_percentage": 100})
    row = simulate(weighted, [everything], cost_model("honeycomb")).summary.row(0, named=True)
    assert row["kept_spans"] == 100 * 2 * 4 + 100 * 2 and row["kept_share"] == 1.0
    plain = simulate(spans, [everything], cost_model("honeycomb")).summary.row(0, named=True)
    assert plain["kept_spans"] == 400


def test_a_policy_that_keeps_nothing_keeps_no_slow_traces() -> None:
    nothing = Policy("nothing", "tail_sampling", {"policies": [
        {"name": "never", "type": "latency", "latency": {"threshold_ms": 10**9}}]})  # fmt: skip
    sim = simulate(spans_of(2000, seed=21), [nothing], cost_model("honeycomb"))
    row = sim.summary.row(0, named=True)
    assert row["kept_traces"] == 0
    assert row["slow_traces_kept"] == 0.0 and row["error_traces_kept"] == 0.0


def test_a_share_of_no_traces_is_null_not_all() -> None:
    spans = spans_of(500, seed=22, error_rate=0.0)
    everything = Policy("all", "probabilistic", {"sampling_percentage": 100})
    sim = simulate(spans, [everything], cost_model("honeycomb"))
    row = sim.summary.row(0, named=True)
    assert row["error_traces_kept"] is None  # no error traces at all: nothing to keep
    assert row["meets_constraints"]  # and nothing was lost
