"""Ingest: rows from the sources into a snapshot's tables, in bounded memory.

Series get their ids (``metrics``), log lines their templates (``templates``, ``logs``), spans their
trace tables (``traces``); each writer appends to the store in large batches.
"""

from costscope.ingest.logs import LogsWriter
from costscope.ingest.metrics import MetricsWriter, identify
from costscope.ingest.templates import TemplateMiner, mine_templates
from costscope.ingest.traces import TracesWriter

__all__ = ["LogsWriter", "MetricsWriter", "TemplateMiner", "TracesWriter", "identify", "mine_templates"]
