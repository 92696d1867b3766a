"""Analyze: findings only — what a snapshot costs, who reads what, what its logs and traces hold.

``snapshot_findings`` runs every analysis on a snapshot; ``Analysis`` (``result``) is what it returns.
Recommendations are the next stage's (``costscope.recommend``); the pipeline (``costscope.run``)
joins them.
"""

from costscope.analyze.logs import LogsAnalysis
from costscope.analyze.result import Analysis, Breach
from costscope.analyze.snapshot import masked, snapshot_findings
from costscope.analyze.traces import TracesAnalysis
from costscope.analyze.trends import Trends
from costscope.analyze.usage import Usage

__all__ = [
    "Analysis",
    "Breach",
    "LogsAnalysis",
    "TracesAnalysis",
    "Trends",
    "Usage",
    "masked",
    "snapshot_findings",
]
