"""The offline HTML report: one page (``page``) of sections, one module per section."""

from costscope.report.html.page import CSP, render_report, write_report

__all__ = ["CSP", "render_report", "write_report"]
