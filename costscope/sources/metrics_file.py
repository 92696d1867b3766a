"""The exposition source: /metrics URLs and exposition files (plain or gzip) into the store.

Like a Prometheus scrape, each series gets the target labels ``job`` and ``instance`` unless it
already has them (honor_labels): for a URL, ``job`` is the source name and ``instance`` the
``host:port``; for a file, ``job`` is the name of its folder when the file sits in a folder of a
directory source (``metrics/<job>/<instance>.prom``, like file_sd), else the file's stem, and
``instance`` is the file's stem.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from costscope.config import SourceConfig
from costscope.errors import InputError
from costscope.sources.exposition import ExpositionParser, Sample
from costscope.sources.http import HttpClient
from costscope.store.metrics import MetricsWriter

EXPOSITION_SUFFIXES = (".prom", ".metrics", ".txt", ".om", ".openmetrics")


@dataclass(frozen=True)
class ExpositionStats:
    """What one exposition yielded."""

    samples: int
    series: int
    skipped_lines: int
    families: int


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="\n") as fh:
            yield from fh
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=str(path)) from None
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None


def _write(
    parser: ExpositionParser,
    samples: Iterator[Sample],
    writer: MetricsWriter,
    target: tuple[tuple[str, str], ...],
) -> ExpositionStats:
    count = 0
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for sample in samples:
        count += 1
        labels = sample.labels
        names = {k for k, _ in labels}
        extra = tuple(kv for kv in target if kv[0] not in names)
        key = (sample.name, labels)
        if key in seen:  # a repeated series (e.g. with another timestamp) is one series
            continue
        seen.add(key)
        writer.series(sample.name, sample.family, labels + extra)
    for fam in parser.families.values():
        writer.metadata(fam.name, fam.type, fam.help, fam.unit)
    return ExpositionStats(count, len(seen), parser.skipped, len(parser.families))


def target_labels_for_file(path: Path, root: Path | None) -> tuple[tuple[str, str], ...]:
    """``job``/``instance`` for a file, by where it sits under a directory source."""
    stem = path.name.split(".")[0]
    job = stem
    if root is not None and path.parent != root and root in path.parents:
        job = path.parent.name
    return (("job", job), ("instance", stem))


def collect_file(
    path: Path, writer: MetricsWriter, *, lenient: bool = False, root: Path | None = None
) -> ExpositionStats:
    """Parse one exposition file into ``writer``."""
    parser = ExpositionParser(str(path), lenient=lenient)
    return _write(parser, parser.parse(_lines(path)), writer, target_labels_for_file(path, root))


def collect_url(source: SourceConfig, writer: MetricsWriter, client: HttpClient) -> ExpositionStats:
    """Scrape one /metrics URL into ``writer``."""
    response = client.get(
        "",
        params=None,
    )
    url = source.url or ""
    parser = ExpositionParser(url, lenient=source.lenient)
    lines = io.StringIO(response.text, newline="\n")
    host = urlsplit(url).netloc.rsplit("@", 1)[-1]
    return _write(parser, parser.parse(lines), writer, (("job", source.name), ("instance", host)))
