"""A recording's folder: its manifest, what kind of source made it, and how requests are keyed.

Kept apart from the transports that record and replay (``sources.replay``), which need httpx:
telling a recording from other inputs costs no HTTP library.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from costscope.errors import InputError

MANIFEST = "recording.json"
FORMAT = "costscope-recording/1"
TIME_PARAMS = frozenset({"start", "end", "time"})  # ignored when matching: a recording stays valid


def request_key(path: str, params: list[tuple[str, str]] | list[list[str]]) -> str:
    """A request as the manifest matches it: its path and its parameters but the time ones."""
    kept = sorted((str(k), str(v)) for k, v in params if k not in TIME_PARAMS)
    return json.dumps([path, kept], separators=(",", ":"))


def recorded_kind(path: Path) -> str:
    """The source kind a recording was made from (``prometheus`` when the manifest does not say)."""
    kind = load_manifest(path).get("kind")
    return str(kind) if kind else "prometheus"


def is_recording(path: Path) -> bool:
    """Whether ``path`` is a folder holding a recording."""
    return path.is_dir() and (path / MANIFEST).is_file()


def load_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a recording, validated."""
    file = directory / MANIFEST
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read recording: {exc}", file=str(file)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=str(file), line=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("responses"), list):
        raise InputError(f"not a {FORMAT} manifest", file=str(file))
    if not isinstance(doc.get("base_url"), str):
        raise InputError("base_url missing", file=str(file))
    return doc
