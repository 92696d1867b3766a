"""Ingest: run the sources' readers and turn their rows into a snapshot's tables, in bounded memory.

Series get their ids (``metrics``), log lines their templates (``templates``, ``logs``), spans their
trace tables (``traces``); each writer appends to the store in large batches. ``collect`` reads
one source into a snapshot with the reader its kind names (``COLLECTORS``).
"""

from costscope.ingest.collect import COLLECTORS, Progress, collect
from costscope.ingest.logs import LogsWriter
from costscope.ingest.metrics import MetricsWriter
from costscope.ingest.series_identity import identify
from costscope.ingest.templates import TemplateMiner, mine_templates
from costscope.ingest.traces import TracesWriter

__all__ = [
    "COLLECTORS",
    "LogsWriter",
    "MetricsWriter",
    "Progress",
    "TemplateMiner",
    "TracesWriter",
    "collect",
    "identify",
    "mine_templates",
]
