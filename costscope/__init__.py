"""costscope: what does our telemetry cost, why, and what can we cut?

The public API is small: ``open`` a store written by ``costscope analyze``, or ``analyze``
sources from Python; both hand back polars DataFrames; ``write_report`` writes the HTML report.
"""

from costscope._version import __version__
from costscope.analyze import Analysis
from costscope.api import Workspace, analyze, open, simulate_traces, write_report
from costscope.errors import (
    ConfigError,
    CostscopeError,
    InputError,
    ParseError,
    SourceError,
    StoreError,
)
from costscope.logs import mine_templates

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
    "mine_templates",
    "open",
    "simulate_traces",
    "write_report",
]
