"""A server's ``/api/v1/series`` answer saved to a file: the label sets themselves.

``curl -G …/api/v1/series --data-urlencode 'match[]={__name__=~".+"}' > series.json`` is how a
team without a network path to costscope shares what its Prometheus (or VictoriaMetrics, Mimir,
Thanos) holds. The answer is read as the live source reads the same answer: one row per label set,
the series keep the ``job`` and ``instance`` they have (no target labels are added), and histogram
and summary families are told by their ``_bucket``/``_sum``/``_count`` names, as for a server
without metadata. A server that cut the answer short (``limit``) says so in ``warnings``: each is
kept as an input warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputWarning, ParseError
from costscope.sources.compressed import read_bytes
from costscope.sources.prometheus_api import decoded_label_sets, family_of, infer_families, series_frames
from costscope.sources.sinks import MetricsSink

WRITE_ROWS = 200_000  # label sets given ids and written at a time: memory stays bounded


def is_series_answer(doc: object) -> bool:
    """Whether ``doc`` is a successful ``/api/v1/series`` answer (``data``: label sets with names)."""
    if not isinstance(doc, dict) or doc.get("status") != "success":
        return False
    data = doc.get("data")
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "__name__" in data[0]


def _label_sets(path: Path, raw: bytes) -> tuple[pl.DataFrame, list[str]]:
    """The answer's label sets (a column per label) and its warnings."""
    if (decoded := decoded_label_sets(raw)) is not None:
        return decoded
    try:  # label sets polars could not put in one struct: read them one by one
        doc: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    except (RecursionError, UnicodeDecodeError):
        raise ParseError("not a series answer (unreadable JSON)", file=str(path)) from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise ParseError("series answer: data is not a list of label sets", file=str(path))
    frame = pl.from_dicts(data, infer_schema_length=None).cast(pl.String) if data else pl.DataFrame()
    return frame, [str(w) for w in doc.get("warnings") or []]


def read_series_answer(path: Path, writer: MetricsSink) -> tuple[int, list[InputWarning]]:
    """Write the label sets of a saved series answer into ``writer``: (series, warnings)."""
    frame, said = _label_sets(path, read_bytes(path))
    warnings = [InputWarning(f"the server said: {w}", file=str(path)) for w in said]
    return write_label_sets(frame, writer), warnings


def write_label_sets(frame: pl.DataFrame, writer: MetricsSink) -> int:
    """Write label sets (a column per label, ``__name__`` among them) as series; returns how many."""
    if frame.is_empty() or "__name__" not in frame.columns:
        return 0
    frame = frame.filter(pl.col("__name__").is_not_null()).unique()  # a series is one series
    names = sorted(frame["__name__"].unique().to_list())
    meta: dict[str, tuple[str | None, str | None, str | None]] = {}
    infer_families(names, meta)
    families = pl.DataFrame(
        {"__name__": names, "_family": [family_of(n, meta) for n in names]},
        schema={"__name__": pl.String, "_family": pl.String},
    )
    grouped = frame.join(families, on="__name__", how="left").sort("_family", "__name__")
    for part in grouped.iter_slices(WRITE_ROWS):  # families kept together: the store compresses them
        labels = part.drop("_family")
        labels = labels.select([c for c in labels.columns if labels[c].null_count() < labels.height])
        # another file of the same source (an answer of another day) may hold the same series
        writer.rows(*writer.prepare(*series_frames(labels, part["_family"]), unique=True), unique=False)
    for family, (type_, help_, unit) in meta.items():
        writer.metadata(family, type_, help_, unit)
    return frame.height
