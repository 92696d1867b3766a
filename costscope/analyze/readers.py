"""Who reads a metric: a dashboard panel, an alert, a recording rule, an SLO, a logged query — and how to say so.

Severity of breaking one, most first: an SLO; an alert or a recording rule (whatever reads its
output breaks too); a query someone ran (from a query log: an engineer's incident query, a script,
another team's Grafana — no owner to warn, so above a dashboard); a dashboard panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

SEVERITY = {"slo": 4, "alert": 3, "recording_rule": 3, "query": 2, "dashboard": 1}
QUERY_SHOWN = 60  # characters of a logged query shown where it is named
MAX_CHAIN = 8  # recording rules of recording rules, followed this deep

__all__ = ["MAX_CHAIN", "SEVERITY", "Describable", "Reader", "count", "listing", "unique"]


@dataclass(frozen=True)
class Reader:
    """Something that reads a metric: a dashboard panel, an alert, a recording rule, an SLO."""

    kind: str
    name: str
    panel: str | None = None
    via: str | None = None  # the recording rule in between, when read through one

    def describe(self) -> str:
        """One short phrase: ``alert KubePodCrashLooping`` or ``dashboard 'API' (via rule x)``."""
        what = {"recording_rule": "recording rule", "slo": "SLO"}.get(self.kind, self.kind)
        if self.kind == "query":
            shown = self.name if len(self.name) <= QUERY_SHOWN else self.name[: QUERY_SHOWN - 1] + "…"
            return f"query {shown!r}" + (f" via {self.via}" if self.via else "")
        text = f"{what} {self.name!r}" if self.kind in ("dashboard", "slo") else f"{what} {self.name}"
        if self.kind == "dashboard" and self.panel:
            text += f" (panel {self.panel!r})"
        return text + (f" via {self.via}" if self.via else "")


def count(n: int, noun: str) -> str:
    """``n`` and the noun, plural when ``n`` is not one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class Describable(Protocol):
    """A reader that names itself in one short phrase."""

    def describe(self) -> str: ...


def listing(readers: Sequence[Describable], limit: int = 4) -> str:
    """Readers in one line: the first ``limit`` described, then how many more."""
    shown = "; ".join(r.describe() for r in readers[:limit])
    return shown + (f" and {len(readers) - limit} more" if len(readers) > limit else "")


def unique(readers: list[Reader]) -> list[Reader]:
    """Readers without repeats (of a dashboard, its first panel by name), the most severe first."""
    seen: dict[tuple[str, str, str | None], Reader] = {}
    # in a fixed order, not the order they were found in (which may follow a set's)
    for r in sorted(readers, key=_order):
        seen.setdefault((r.kind, r.name, r.via), r)
    return sorted(seen.values(), key=lambda r: (-SEVERITY.get(r.kind, 0), *_order(r)))


def _order(r: Reader) -> tuple[str, str, str, str]:
    return r.kind, r.name, r.via or "", r.panel or ""
