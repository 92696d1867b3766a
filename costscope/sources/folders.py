"""What is under a folder, as a user who linked other folders into it expects to find it.

``Path.rglob`` does not enter a link to a folder, so a folder of links (``ln -s /var/log/app logs``)
read as empty, and the files behind them were lost without a word. Links are followed here, and
each real folder is entered once, so a link back up the tree is not a loop. A link to nothing and a
folder that cannot be read are said, never skipped in silence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tree:
    """The paths under a folder (sorted) and what could not be followed or read: (path, why)."""

    paths: tuple[Path, ...]
    problems: tuple[tuple[Path, str], ...]


def walk(folder: Path) -> Tree:
    """Every file and folder under ``folder``, links to folders followed, each real folder once."""
    paths: list[Path] = []
    problems: list[tuple[Path, str]] = []
    seen: set[str] = set()

    def unreadable(exc: OSError) -> None:
        problems.append((Path(exc.filename or folder), f"cannot be read: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back to a folder already read
            dirs[:] = []
            continue
        seen.add(real)
        for name in (*dirs, *names):
            path = Path(root, name)
            if path.is_symlink() and not path.exists():
                problems.append((path, f"a link to nothing ({os.readlink(path)})"))
                continue
            paths.append(path)
    return Tree(tuple(sorted(paths)), tuple(sorted(problems)))
