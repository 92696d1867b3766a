"""The time captures cover: what the per-month figures of logs and traces divide by.

A file is one capture, from its first timestamp to its last. Files taken months apart cover
their own minutes, not the months between them: the time covered is the length of the union of
their windows (files of one stream cut by time join up into the whole of it). Measuring from the
first timestamp of all files to the last of all would make every rate near zero, and so every
monthly cost.

Windows are kept per key (a log's service): a folder of logs from unrelated systems, taken at
different times, holds each service's lines for that service's own minutes. Dividing a service's
bytes by the union of every file's windows would price a 40-minute capture as if it had been
spread over days.
"""

from __future__ import annotations

from collections.abc import Hashable


class Captures:
    """Windows of time, one per capture and key, in one unit (seconds, or integer ns for exact
    sums); ``covered`` is the length of a key's union."""

    def __init__(self) -> None:
        self._windows: dict[Hashable, list[tuple[float, float]]] = {}
        self._current: dict[Hashable, tuple[float, float]] = {}

    def see(self, first: float, last: float, key: Hashable = None) -> None:
        """Times seen in the current capture (of ``key``)."""
        w = self._current.get(key)
        self._current[key] = (first, last) if w is None else (min(w[0], first), max(w[1], last))

    def end(self) -> None:
        """End the current capture: what is seen next belongs to another, maybe far away in time."""
        for key, window in self._current.items():
            self._windows.setdefault(key, []).append(window)
        self._current.clear()

    def covered(self, key: Hashable = None) -> float | None:
        """Time the captures of ``key`` cover together; None when none of them had a time."""
        self.end()
        covered: float = 0
        end: float | None = None
        for first, last in sorted(self._windows.get(key, ())):
            if end is None or first > end:
                covered, end = covered + last - first, last
            elif last > end:
                covered, end = covered + last - end, last
        return None if end is None else covered
