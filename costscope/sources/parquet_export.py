"""A folder written by ``costscope export --parquet``: read back whole into a new snapshot.

Many clusters' exports can be analysed together; ``store.export.import_export`` does the copying.
"""

from __future__ import annotations

from pathlib import Path

from costscope.source_kinds import EXPORT_MARKER

MARKER = EXPORT_MARKER


def is_export(path: Path) -> bool:
    """Whether ``path`` is a directory written by ``costscope export --parquet``."""
    return path.is_dir() and (path / MARKER).is_file()
