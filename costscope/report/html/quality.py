"""What the data quality section shows: what failed, what was skipped and why, what is masked."""

from __future__ import annotations

from typing import Any

from costscope.analyze import Analysis
from costscope.report.html.tables import table

__all__ = ["quality_context"]


def quality_context(a: Analysis) -> dict[str, Any]:
    """Source errors, input warnings, masked labels and how every source ended."""
    errors, warnings = a.failures, a.warnings
    columns = [("source", "source"), ("location", "where"), ("stage", "stage"), ("message", "error")]
    return {
        "status": a.status,
        "errors": table(errors, columns, set()) if errors.height else None,
        "warnings": table(warnings, [*columns[:3], ("message", "warning")], set()) if warnings.height else None,
        "masked": a.risky_labels["label"].head(10).to_list() if a.values_masked else [],
        "masked_count": a.risky_labels.height if a.values_masked else 0,
        "sources": table(
            a.sources,
            [("source", "source"), ("kind", "kind"), ("location", "location"), ("status", "status"),
             ("series", "series"), ("skipped_lines", "skipped lines"), ("collect", "collected as"),
             ("queries", "queries")],
            {"series", "skipped_lines", "queries"},
        ),
    }  # fmt: skip
