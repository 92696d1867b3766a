"""Which bucket bounds a histogram keeps: by value, in one fixed order whatever order they come in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from costscope.analyze.histograms import kept_buckets, read_by_name

BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]


def test_the_last_bound_and_the_pinned_ones_are_kept() -> None:
    kept = kept_buckets(BOUNDS, target=4, pinned=["0.25"])
    assert kept[-1] == "+Inf" and "0.25" in kept and kept[0] == "0.005"
    assert len(kept) == 5


def test_bounds_named_by_value() -> None:
    assert read_by_name(["5e-01", "1", "+Inf"], ["0.5", "+Inf"]) == ["5e-01", "+Inf"]


# two exporters of one histogram may spell a bound two ways ("0" and "0.0"): the order must not
# depend on the order the store returns them in
_spelled = st.permutations(["0", "0.0", "1", "1.0", "1e0", "+Inf", "0.5", "5e-01", "2", "3", "4", "8", "16"])


@given(_spelled, _spelled)
def test_kept_bounds_do_not_depend_on_input_order(a: list[str], b: list[str]) -> None:
    assert kept_buckets(a, target=6) == kept_buckets(b, target=6)
    assert kept_buckets(a, target=6, pinned=["1.0"]) == kept_buckets(b, target=6, pinned=["1.0"])
