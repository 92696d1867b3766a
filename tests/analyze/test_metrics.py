"""Exact label economics against an independent brute-force oracle, and its invariants."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costscope.analyze.metrics import label_drops, top_metrics
from costscope.ingest.metrics import MetricsWriter
from costscope.pricing import cost_model
from costscope.store import Store

LabelSet = dict[str, str]


def _store_series(store: Store, series: dict[str, list[LabelSet]]) -> int:
    snap = store.begin("t", [])
    with snap.transaction():
        w = MetricsWriter(snap, "src", batch_size=7)  # tiny batches: flushing must not matter
        for metric, sets in series.items():
            for labels in sets:
                w.series(metric, metric, sorted(labels.items()))
        w.close()
        snap.finish("complete", {})
    return snap.id


def _oracle(sets: list[LabelSet], label: str) -> tuple[int, int]:
    before = {frozenset(s.items()) for s in sets}
    after = {frozenset((k, v) for k, v in s if k != label) for s in before}
    return len(before), len(after)


label_sets = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c", "user_id"]), st.sampled_from(["1", "2", "x", ""]),
                    max_size=4),
    min_size=1, max_size=40,
)  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m1=label_sets, m2=label_sets)
def test_series_after_a_drop_match_the_oracle(tmp_path_factory: object, m1: list[LabelSet],
                                              m2: list[LabelSet]) -> None:  # fmt: skip
    m1 = [{k: v for k, v in s.items() if v} for s in m1]  # empty values are absent labels
    m2 = [{k: v for k, v in s.items() if v} for s in m2]
    db = Path(tmp_path_factory.mktemp("db")) / "o.duckdb"  # type: ignore[attr-defined]
    with Store.open(db) as store:
        sid = _store_series(store, {"m1": m1, "m2": m2})
        model = cost_model("grafana-cloud")
        drops = label_drops(store, sid, model)
        metrics = top_metrics(store, sid, model)
    for row in drops.iter_rows(named=True):
        sets = m1 if row["metric"] == "m1" else m2
        assert (row["series_before"], row["series_after"]) == _oracle(sets, row["label"])
        # invariants: dropping a label never adds series, savings are never negative
        assert 0 <= row["series_saved"] <= row["series_before"] - 1 or row["series_saved"] == 0
        assert row["monthly_savings"] >= 0
    expected = {
        "m1": len({frozenset(s.items()) for s in m1}),
        "m2": len({frozenset(s.items()) for s in m2}),
    }
    assert dict(metrics.select("metric", "series").iter_rows()) == expected
    assert abs(metrics["share"].sum() - 1.0) < 1e-9


def test_unique_per_series_flags_a_label_that_tells_every_series_apart(store: Store) -> None:
    sets = [{"user_id": f"u{i}", "route": f"/r{i % 3}"} for i in range(30)]
    sid = _store_series(store, {"req": sets})
    drops = {r["label"]: r for r in label_drops(store, sid, cost_model()).iter_rows(named=True)}
    assert drops["user_id"]["unique_per_series"] and drops["user_id"]["series_after"] == 3
    assert not drops["route"]["unique_per_series"] and drops["route"]["series_after"] == 30


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=label_sets, dropped=st.sets(st.sampled_from(["a", "b", "c", "user_id"]), min_size=1))
def test_keeping_only_some_labels_matches_the_oracle(tmp_path_factory: object, sets: list[LabelSet],
                                                     dropped: set[str]) -> None:  # fmt: skip
    import polars as pl

    from costscope.analyze.metrics import keep_only

    sets = [{k: v for k, v in s.items() if v} for s in sets]
    db = Path(tmp_path_factory.mktemp("db")) / "k.duckdb"  # type: ignore[attr-defined]
    with Store.open(db) as store:
        sid = _store_series(store, {"m": sets})
        got = keep_only(store, sid, pl.DataFrame({"metric": ["m"] * len(dropped), "label": sorted(dropped)}))
    expected = len({frozenset((k, v) for k, v in s.items() if k not in dropped) for s in sets})
    assert got["series_after"].to_list() == [expected]


def test_two_unique_labels_are_recommended_away_together(tmp_path: Path) -> None:
    from costscope.run import analyze_snapshot

    # user_id and pod are both unique per series: dropping either alone saves nothing
    sets = [{"user_id": f"u-{i:08x}", "pod": f"app-{i:06x}", "route": f"/r{i % 4}"} for i in range(100)]
    with Store.open(tmp_path / "two.duckdb") as store:
        sid = _store_series(store, {"req_total": sets})
        a = analyze_snapshot(store, sid, cost_model())
    assert a.keep_sets.select("dropped", "series_after").rows() == [(["pod", "user_id"], 4)]
    (rec,) = a.recommendations.filter(a.recommendations["kind"] == "aggregate").iter_rows(named=True)
    assert rec["target"] == "req_total without pod, user_id" and rec["series_saved"] == 96


def test_keep_sets_are_listed_by_series_saved_then_metric(tmp_path: Path) -> None:
    from costscope.run import analyze_snapshot

    def unique(n: int) -> list[dict[str, str]]:
        return [{"user_id": f"u-{i:08x}", "pod": f"app-{i:06x}", "route": f"/r{i % 4}"} for i in range(n)]

    # equal savings tie on the metric's name; joins alone gave these in a different order per run
    metrics = {f"m{k:02d}_total": unique(40 if k % 3 else 60) for k in range(30, 0, -1)}
    with Store.open(tmp_path / "order.duckdb") as store:
        sid = _store_series(store, metrics)
        a = analyze_snapshot(store, sid, cost_model())
    rows = a.keep_sets.select("series_saved", "metric").rows()
    assert len(rows) == 30
    assert rows == sorted(rows, key=lambda r: (-r[0], r[1]))
