"""A VictoriaMetrics JSON export saved to a file: the series it holds.

``curl …/api/v1/export -d 'match[]={__name__!=""}' > export.jsonl`` (and ``vmctl``, and backups
made that way) writes one JSON object a line: ``{"metric": {"__name__": …, labels…}, "values": […],
"timestamps": […]}``. A series may take several lines (its samples come from several parts of the
storage), so the label sets are deduplicated; the samples are not read. Read as a saved series
answer is (``sources.series_answer``): the series keep their own ``job`` and ``instance``.

The file is read in blocks of whole lines, so an export of many samples never sits in memory
whole; only the distinct label sets do.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from costscope.errors import InputError, ParseError
from costscope.sources.compressed import READ_ERRORS, open_bytes
from costscope.sources.series_answer import write_label_sets
from costscope.sources.sinks import MetricsSink
from costscope.sources.sniff import Sniff

BLOCK_BYTES = 16 << 20
_HEAD = re.compile(r'^\s*\{\s*"metric"\s*:\s*\{[^\n]*?\}\s*,\s*"values"\s*:\s*\[')


def is_vm_export_line(doc: object) -> bool:
    """Whether ``doc`` (a JSON line) is a line of a VictoriaMetrics export."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("metric"), dict)
        and isinstance(doc.get("values"), list)
        and isinstance(doc.get("timestamps"), list)
    )


def is_vm_export_head(text: str) -> bool:
    """Whether a file's first characters open a VictoriaMetrics export line, as VictoriaMetrics
    writes it (``metric`` first, then ``values``): its first line may be megabytes long."""
    return bool(_HEAD.match(text))


def is_vm_export(s: Sniff) -> bool:
    """Whether a file is a VictoriaMetrics export: its head opens like one (a first line may be
    megabytes long), or its first line is one."""
    return not s.binary and (is_vm_export_head(s.text) or is_vm_export_line(s.first_object))


def _blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, block of whole lines) of the file."""
    line, carry = 1, b""
    try:
        with open_bytes(path) as fh:
            while data := fh.read(BLOCK_BYTES):
                data = carry + data
                end = data.rfind(b"\n")
                if end < 0:  # one line longer than a block (a series of many samples): read on
                    carry = data
                    continue
                yield line, data[: end + 1]
                line += data.count(b"\n", 0, end + 1)
                carry = data[end + 1 :]
    except READ_ERRORS as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    if carry.strip():
        yield line, carry


def _bad_line(path: Path, first: int, block: bytes) -> ParseError:
    """The error naming the first line of ``block`` that is not an export line."""
    for n, text in enumerate(block.split(b"\n"), start=first):
        if not text.strip():
            continue
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return ParseError(f"invalid JSON: {exc}", file=str(path), line=n)
        if not is_vm_export_line(doc):
            return ParseError(
                'not an export line (no "metric", "values" and "timestamps")', file=str(path), line=n
            )
    return ParseError("unreadable export", file=str(path), line=first)


def _label_sets(path: Path, first: int, block: bytes) -> pl.DataFrame:
    try:
        metric = pl.read_ndjson(io.BytesIO(block), infer_schema_length=None).get_column("metric")
    except (pl.exceptions.PolarsError, ValueError):
        raise _bad_line(path, first, block) from None
    if not isinstance(metric.dtype, pl.Struct) or metric.null_count():
        raise _bad_line(path, first, block)
    return metric.struct.unnest().cast(pl.String).unique()


def read_vm_export(path: Path, writer: MetricsSink) -> int:
    """Write the distinct series of a VictoriaMetrics export into ``writer``; returns how many."""
    parts = [_label_sets(path, first, block) for first, block in _blocks(path)]
    frame = pl.concat(parts, how="diagonal") if parts else pl.DataFrame()
    return write_label_sets(frame, writer)
