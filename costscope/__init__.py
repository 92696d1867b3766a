"""costscope: what does our telemetry cost, why, and what can we cut?

The public API is small: ``open`` a store written by ``costscope analyze``, or ``analyze``
sources from Python; both hand back polars DataFrames; ``write_report`` writes the HTML report,
``simulate_traces`` compares sampling policies. Names load on first use, so ``costscope --version``
and ``--help`` start without polars or DuckDB.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from costscope._version import __version__
from costscope.errors import (
    ConfigError,
    CostscopeError,
    InputError,
    ParseError,
    SourceError,
    StoreError,
)

if TYPE_CHECKING:
    from costscope.analyze import Analysis
    from costscope.api import Workspace, analyze, diff, open, plan, simulate_traces, write_report
    from costscope.logs import mine_templates

_LAZY = {
    "Analysis": "costscope.analyze",
    "Workspace": "costscope.api",
    "analyze": "costscope.api",
    "diff": "costscope.api",
    "open": "costscope.api",
    "plan": "costscope.api",
    "simulate_traces": "costscope.api",
    "write_report": "costscope.api",
    "mine_templates": "costscope.logs",
}

__all__ = [
    "Analysis",
    "ConfigError",
    "CostscopeError",
    "InputError",
    "ParseError",
    "SourceError",
    "StoreError",
    "Workspace",
    "__version__",
    "analyze",
    "diff",
    "mine_templates",
    "open",
    "plan",
    "simulate_traces",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """The public names that need polars and DuckDB, imported when first used."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'costscope' has no attribute {name!r}")


class _Package(types.ModuleType):
    """``costscope.analyze`` is the function, though a subpackage has the same name: importing the
    subpackage binds it on the package (the import system does), which must not hide the function."""

    @property
    def analyze(self) -> Any:
        """``costscope.api.analyze``."""
        return importlib.import_module("costscope.api").analyze

    @analyze.setter
    def analyze(self, module: Any) -> None:
        pass  # the subpackage stays reachable as sys.modules["costscope.analyze"]


sys.modules[__name__].__class__ = _Package
