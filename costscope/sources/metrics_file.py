"""The exposition source: /metrics URLs and exposition files (plain or gzip) into the store.

Like a Prometheus scrape, each series gets the target labels ``job`` and ``instance`` unless it
already has them (honor_labels): for a URL, ``job`` is the source name and ``instance`` the
``host:port``; for a file, ``job`` is the name of its folder when the file sits in a folder of a
directory source (``metrics/<job>/<instance>.prom``, like file_sd), else the file's stem, and
``instance`` is the file's stem.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl

from costscope.config import SourceConfig
from costscope.errors import InputError, InputWarning, ParseError
from costscope.sources.compressed import READ_ERRORS, compression_of, open_bytes, plain_name
from costscope.sources.exposition import ExpositionParser
from costscope.sources.exposition_lines import MAX_LINE_BYTES
from costscope.sources.http import HttpClient
from costscope.sources.line_blocks import line_blocks
from costscope.sources.read_ahead import read_ahead
from costscope.sources.sinks import MetricsSink

# names only an exposition has: such a file is read even when broken, so the parser names the line.
# Not ``.txt``: a folder's notes.txt or requirements.txt would fail the run; a dump named .txt is
# still told by its content.
EXPOSITION_SUFFIXES = (".prom", ".metrics", ".om", ".openmetrics")


@dataclass(frozen=True)
class ExpositionStats:
    """What one exposition yielded."""

    samples: int
    skipped_lines: int
    families: int
    # lines Prometheus scrapes but promtool refuses (text format), read as Prometheus reads them
    tolerated: int = 0
    first_tolerated: ParseError | None = None

    def warnings(self) -> list[InputWarning]:
        """A data-quality line for what was read although promtool would refuse it."""
        first = self.first_tolerated
        if first is None:
            return []
        return [
            InputWarning(
                f"read as Prometheus scrapes it, though promtool check metrics refuses it:"
                f" {self.tolerated} line(s) like this one: {first.message}",
                file=first.file,
                line=first.line,
            )
        ]


def _blocks(path: Path) -> Iterator[list[str]]:
    try:
        with io.TextIOWrapper(open_bytes(path), encoding="utf-8", newline="\n") as fh:
            # a line over the bound is cut just past it: the parser refuses (or, lenient, skips) it
            yield from line_blocks(fh, MAX_LINE_BYTES + 1)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=str(path)) from None
    except READ_ERRORS as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None


def _chunk_frames(
    parser: ExpositionParser, blocks: Iterable[list[str]], target: tuple[tuple[str, str], ...]
) -> Iterator[tuple[int, pl.DataFrame, pl.DataFrame]]:
    """Each chunk's sample count, series (seq, metric, family) and labels (seq, label, value),
    target labels included."""
    for chunk in parser.blocks(blocks):
        samples = chunk.samples
        labels = _with_targets(samples["line"], chunk.labels, target)
        # frames of columns, not queries (select, rename): see _with_targets
        series = pl.DataFrame(
            [samples["line"].alias("seq"), samples["name"].alias("metric"), samples["family"]]
        )
        labels = pl.DataFrame([labels["line"].alias("seq"), labels["label"], labels["value"]])
        yield samples.height, series, labels


def _prepared(
    parser: ExpositionParser,
    blocks: Iterable[list[str]],
    writer: MetricsSink,
    target: tuple[tuple[str, str], ...],
) -> Iterator[tuple[int, pl.DataFrame, pl.DataFrame]]:
    """Each chunk's sample count and its rows for the store, ids and target labels included."""
    for n, series, labels in _chunk_frames(parser, blocks, target):
        yield n, *writer.prepare(series, labels)


def _with_targets(
    lines: pl.Series, labels: pl.DataFrame, target: tuple[tuple[str, str], ...]
) -> pl.DataFrame:
    """``labels`` (line, label, value) with each target label a series lacks; honor_labels: a
    series' own job or instance wins. Series operations only, no frame queries: those cost a
    fixed fraction of a millisecond each, which a folder of small files pays per file."""
    for name, value in target:
        column = labels["label"]
        lacking = lines
        if (column == name).any():  # some series say their own
            lacking = lines.filter(~lines.is_in(labels["line"].filter(column == name)))
        n = lacking.len()
        if n:
            extra = pl.DataFrame(
                [lacking.alias("line"), _constant(name, n).alias("label"), _constant(value, n).alias("value")]
            )
            labels = labels.vstack(extra if extra.schema == labels.schema else extra.cast(labels.schema))
    return labels


def _constant(value: str, n: int) -> pl.Series:
    return pl.Series([value], dtype=pl.String).new_from_index(0, n)


def _write(
    parser: ExpositionParser,
    blocks: Iterable[list[str]],
    writer: MetricsSink,
    target: tuple[tuple[str, str], ...],
    one_block: bool = False,
) -> ExpositionStats:
    samples = 0
    if one_block:
        # nothing to overlap (a worker would only cost a thread), and the frame work of giving
        # series their ids has a fixed cost: the writer gives it to many small files at once
        for n, series, labels in _chunk_frames(parser, blocks, target):
            samples += n
            writer.frames(series, labels)
    else:
        # parsing the next chunk overlaps writing this one; the parser is only touched by the worker
        for n, series, labels in read_ahead(_prepared(parser, blocks, writer, target)):
            samples += n
            writer.rows(series, labels, unique=False)  # an exposition may list a series in two chunks
    for fam in parser.families.values():
        writer.metadata(fam.name, fam.type, fam.help, fam.unit)
    return ExpositionStats(
        samples, parser.skipped, len(parser.families), parser.tolerated, parser.first_tolerated
    )


def target_labels_for_file(path: Path, root: Path | None) -> tuple[tuple[str, str], ...]:
    """``job``/``instance`` for a file, by where it sits under a directory source."""
    stem = path.name.split(".")[0]
    job = stem
    if root is not None and path.parent != root and root in path.parents:
        job = path.parent.name
    return (("job", job), ("instance", stem))


OPENMETRICS_SUFFIXES = (".om", ".openmetrics")
SMALL_FILE_BYTES = 1 << 20  # one chunk of the parser's, read in the calling thread


def is_openmetrics_file(path: Path) -> bool:
    """Whether a file says it is OpenMetrics: named ``.om``/``.openmetrics``, or ending in ``# EOF``."""
    name = plain_name(path.name)
    if name.endswith(OPENMETRICS_SUFFIXES) or ".om." in name:
        return True
    if compression_of(path):
        return False  # the end of a compressed stream can't be read without reading all of it
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 64))
        return fh.read().rstrip().splitlines()[-1:] == [b"# EOF"]


def collect_file(
    path: Path, writer: MetricsSink, *, lenient: bool = False, root: Path | None = None
) -> ExpositionStats:
    """Parse one exposition file into ``writer`` (held to OpenMetrics' grammar when it is one)."""
    parser = ExpositionParser(str(path), lenient=lenient, openmetrics=is_openmetrics_file(path))
    small = path.stat().st_size < SMALL_FILE_BYTES and compression_of(path) is None
    return _write(parser, _blocks(path), writer, target_labels_for_file(path, root), one_block=small)


def collect_url(source: SourceConfig, writer: MetricsSink, client: HttpClient) -> ExpositionStats:
    """Scrape one /metrics URL into ``writer``."""
    response = client.get("")
    url = source.url or ""
    openmetrics = response.headers.get("content-type", "").startswith("application/openmetrics-text")
    parser = ExpositionParser(url, lenient=source.lenient, openmetrics=openmetrics)
    blocks = line_blocks(io.StringIO(response.text, newline="\n"), MAX_LINE_BYTES + 1)
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    return _write(parser, blocks, writer, (("job", source.name), ("instance", host)))
