"""The time captures cover: what the per-month figures of logs and traces divide by.

A file is one capture, from its first timestamp to its last. Files taken months apart cover
their own minutes, not the months between them: the time covered is the length of the union of
their windows (files of one stream cut by time join up into the whole of it). Measuring from the
first timestamp of all files to the last of all would make every rate near zero, and so every
monthly cost.
"""

from __future__ import annotations


class Captures:
    """Windows of time, one per capture, in one unit (seconds, or integer ns for exact sums);
    ``covered`` is the length of their union."""

    def __init__(self) -> None:
        self._windows: list[tuple[float, float]] = []
        self._current: tuple[float, float] | None = None

    def see(self, first: float, last: float) -> None:
        """Times seen in the current capture."""
        w = self._current
        self._current = (first, last) if w is None else (min(w[0], first), max(w[1], last))

    def end(self) -> None:
        """End the current capture: what is seen next belongs to another, maybe far away in time."""
        if self._current is not None:
            self._windows.append(self._current)
            self._current = None

    def covered(self) -> float | None:
        """Time the captures cover together; None when no capture had a time."""
        self.end()
        if not self._windows:
            return None
        covered: float = 0
        end: float | None = None
        for first, last in sorted(self._windows):
            if end is None or first > end:
                covered, end = covered + last - first, last
            elif last > end:
                covered, end = covered + last - end, last
        return covered
