"""Figures for people: durations in their two largest units, shares of nothing shown as such."""

from __future__ import annotations

import pytest

from costscope.display import human_duration, share


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (40, "40s"), (59.6, "1m"), (60, "1m"), (312, "5m 12s"), (3600, "1h"), (7322, "2h 2m"),
     (183_600, "2d 3h"), (86_400 * 400, "1y 35d"), (185_854_676, "5y 326d")],
)  # fmt: skip
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_share() -> None:
    assert share(0.25) == "25%" and share(0.25, 1) == "25.0%" and share(None) == "–"
