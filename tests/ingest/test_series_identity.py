"""Series ids: whatever order the labels come in, the id is the xor of its pairs' hashes."""

from __future__ import annotations

import random
from functools import reduce

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from costscope.ingest.series_identity import HASH_SEED, identify


def _hash(texts: list[str]) -> list[int]:
    return pl.Series(texts, dtype=pl.String).hash(seed=HASH_SEED).to_list()


def _expected(metrics: dict[int, str], labels: list[tuple[int, str, str]]) -> dict[int, int]:
    """Each series' id computed one series at a time: the xor of ``__name__`` and its pairs."""
    out = {}
    for seq, metric in metrics.items():
        texts = [f"__name__={metric}"] + [f"{k}={v}" for s, k, v in labels if s == seq]
        out[seq] = reduce(lambda a, b: a ^ b, _hash(texts))
    return out


@st.composite
def _inputs(draw: st.DrawFn) -> tuple[dict[int, str], list[tuple[int, str, str]], str]:
    n = draw(st.integers(1, 40))
    gap = draw(st.sampled_from([1, 2, 50_000]))  # dense line numbers, or far apart (binary search)
    seqs = [i * gap + draw(st.integers(0, gap - 1)) if gap > 1 else i for i in range(n)]
    metrics = {s: draw(st.sampled_from(["a_total", "b", "c_bucket"])) for s in seqs}
    labels = [
        (s, f"l{j}", draw(st.sampled_from(["x", "y", "=", ""])))
        for s in seqs
        for j in range(draw(st.integers(0, 3)))
    ]
    orphans = [(max(seqs) + 7, "orphan", "z"), (-3, "orphan", "z")] if draw(st.booleans()) else []
    order = draw(st.sampled_from(["parsed", "targets appended", "shuffled"]))
    return metrics, labels + orphans, order


@settings(max_examples=80, deadline=None)
@given(_inputs(), st.randoms(use_true_random=False))
def test_ids_do_not_depend_on_the_order_labels_come_in(
    case: tuple[dict[int, str], list[tuple[int, str, str]], str], rnd: random.Random
) -> None:
    metrics, labels, order = case
    rows = list(labels)
    if order == "targets appended":  # a file's job after its own labels: two sorted runs
        rows += [(s, "job", "file") for s in metrics]
    elif order == "shuffled":
        rnd.shuffle(rows)
    series = pl.DataFrame(
        {"seq": list(metrics), "metric": list(metrics.values()), "family": list(metrics.values())},
        schema={"seq": pl.Int64, "metric": pl.String, "family": pl.String},
    )
    frame = pl.DataFrame(rows, schema={"seq": pl.Int64, "label": pl.String, "value": pl.String}, orient="row")
    out_series, out_labels = identify(series, frame, unique=True)
    expected = _expected(metrics, [r for r in rows if r[0] in metrics])
    assert dict(zip(series["seq"], out_series["series_id"], strict=True)) == expected
    # every label of a series, and none of no series, keyed by its series' id and family
    assert out_labels.height == sum(1 for r in rows if r[0] in metrics)
    by_id = {expected[s]: metrics[s] for s in metrics}
    assert all(by_id[i] == f for i, f in zip(out_labels["series_id"], out_labels["family"], strict=True))


def test_the_pair_text_is_the_same_for_a_large_batch_as_for_a_small_one() -> None:
    """Past the size where the text is joined in one query, the hashes (the stored ids) stay."""
    n = 60_000
    series = pl.DataFrame({"seq": range(n), "metric": ["m"] * n, "family": ["m"] * n})
    labels = pl.DataFrame({"seq": range(n), "label": ["id"] * n, "value": [str(i) for i in range(n)]})
    big = identify(series, labels)[1]["pair_hash"]
    small = pl.concat([identify(series[i : i + 1000], labels[i : i + 1000])[1] for i in range(0, n, 1000)])
    assert big.equals(small["pair_hash"]) and big.head(3).to_list() == _hash(["id=0", "id=1", "id=2"])
