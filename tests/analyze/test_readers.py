"""Readers of a metric: one per dashboard, rule or SLO, in one fixed order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from costscope.analyze.readers import Reader, listing, unique

READERS = [
    Reader("dashboard", "Istio", "variable $pod"),
    Reader("dashboard", "Istio", "variable $cluster"),
    Reader("dashboard", "API", "latency"),
    Reader("alert", "HighErrors"),
    Reader("alert", "HighErrors", via="job:errors:rate5m"),
    Reader("slo", "api-availability"),
    Reader("recording_rule", "job:errors:rate5m"),
]


def test_most_severe_first_and_one_panel_per_dashboard() -> None:
    assert [r.describe() for r in unique(READERS)] == [
        "SLO 'api-availability'",
        "alert HighErrors",
        "alert HighErrors via job:errors:rate5m",
        "recording rule job:errors:rate5m",
        "dashboard 'API' (panel 'latency')",
        "dashboard 'Istio' (panel 'variable $cluster')",
    ]
    assert listing(unique(READERS), limit=2) == "SLO 'api-availability'; alert HighErrors and 4 more"


@given(st.permutations(READERS))
def test_the_order_readers_are_found_in_changes_nothing(readers: list[Reader]) -> None:
    assert unique(readers) == unique(READERS)
