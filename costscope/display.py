"""How figures read for people: shares of nothing and durations (money is ``report.terminal.money``)."""

from __future__ import annotations


def share(value: float | None, digits: int = 0) -> str:
    """``42%`` (``digits`` decimals); ``–`` for a share of nothing (no error traces to keep)."""
    return "–" if value is None else f"{value:.{digits}%}"


def human_duration(seconds: float) -> str:
    """``2d 3h``, ``5m 12s``, ``40s``: the two largest units, for people (never ``185854676s``)."""
    s = round(seconds)
    parts: list[str] = []
    for unit, size in (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size or (unit == "s" and not parts):
            parts.append(f"{s // size}{unit}")
            s %= size
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0") or len(parts) == 1)
