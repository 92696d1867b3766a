"""Sources: where telemetry comes from, and turning a SOURCE argument into a SourceConfig.

A SOURCE on the command line is a URL or a path; its kind is inferred (``--kind`` forces it):
a URL whose path ends in ``/metrics`` is scraped as an exposition, any other URL is a
Prometheus-compatible API (the flavour is detected); a folder with ``recording.json`` is a
recorded API and one with ``snapshots.parquet`` an export; any other file is told by its content
(``sources.kinds``: exposition, Grafana dashboard, rule/SLO YAML, logs, traces), its name only a
hint. A folder becomes one source per recording and export, plus one per kind of the files in it
(``NAME``, ``NAME/dashboards``, ``NAME/rules``, ``NAME/logs``, ``NAME/traces``); a file no kind
recognises is a warning saying what it looked like.

Readers push rows into sinks (``sources.sinks``) and know nothing of the snapshot;
``ingest.collect`` runs them. Every file of a source is tried: a bad one is an error naming it (the others are still read), and
one that yields nothing is a warning.
"""

from costscope.sources.resolve import Resolution, infer_kind, resolve, resolve_sources

__all__ = ["Resolution", "infer_kind", "resolve", "resolve_sources"]
