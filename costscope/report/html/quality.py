"""The data quality section: what failed, what was skipped and why, what is masked."""

from __future__ import annotations

from costscope.analyze import Analysis
from costscope.report.html.tables import esc, table

__all__ = ["quality_section"]


def quality_section(a: Analysis) -> str:
    """Source errors, input warnings, masked labels and how every source ended."""
    quality = []
    errors, warnings = a.failures, a.warnings
    columns = [("source", "source"), ("location", "where"), ("stage", "stage"), ("message", "error")]
    if errors.height:
        quality.append(
            f'<p class="bad">{errors.height} source error(s): the snapshot is '
            f"<b>{esc(a.status)}</b>; figures cover what was collected.</p>"
        )
        quality.append(table(errors, columns, set()))
    if warnings.height:
        quality.append(
            f"<p>{warnings.height} input warning(s): files that were not recognised, or were read and"
            " yielded nothing. Nothing else was lost.</p>"
        )
        quality.append(table(warnings, [*columns[:3], ("message", "warning")], set()))
    if not errors.height:
        quality.append('<p class="ok">Every source was read completely.</p>')
    if a.values_masked and a.risky_labels.height:
        quality.append(
            f"<p>Values of {a.risky_labels.height} risky label(s) are masked in this report"
            f" ({esc(', '.join(a.risky_labels['label'].head(10)))}): they look like identifiers and may be"
            " personal data.</p>"
        )
    quality.append(
        table(
            a.sources,
            [
                ("source", "source"),
                ("kind", "kind"),
                ("location", "location"),
                ("status", "status"),
                ("series", "series"),
                ("skipped_lines", "skipped lines"),
                ("collect", "collected as"),
                ("queries", "queries"),
            ],
            {"series", "skipped_lines", "queries"},
        )
    )
    return "".join(quality)
