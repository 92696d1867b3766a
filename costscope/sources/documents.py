"""Walking untrusted JSON and YAML documents: a field that should hold an object may hold anything."""

from __future__ import annotations

from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    """``value`` where it is an object (a dict); an empty one where it is absent or anything else."""
    return value if isinstance(value, dict) else {}
