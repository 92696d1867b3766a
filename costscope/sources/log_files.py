"""Log files: JSON lines, logfmt and plain text (gzip, bzip2 or xz allowed), read in chunks, never whole.

A file is read in blocks of whole lines (``line_blocks``), each parsed into a frame by
``sources.log_lines`` while the next is read. Its format is told from its first lines, and so is a
wrapper around its lines (a container runtime's, logcli's: ``sources.wrapped_logs``); a saved
Loki answer is one document, read whole. A file's service is its own field where lines have one,
else its name (``service_of``), or its place in a node's container log folders.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from costscope.errors import InputError
from costscope.sources.compressed import READ_ERRORS, open_bytes, plain_name
from costscope.sources.line_blocks import ended_line_blocks
from costscope.sources.log_lines import detect_format, parse_chunk
from costscope.sources.read_ahead import read_ahead
from costscope.sources.wrapped_logs import (
    Unwrapper,
    container_service,
    loki_answer,
    loki_stream_lines,
    wrapped_contents,
    wrapper_format,
)

CHUNK_LINES = 100_000
LOG_SUFFIXES = (".log", ".jsonl", ".ndjson", ".logfmt")


def open_text(path: Path) -> io.TextIOWrapper:
    """A text stream of ``path`` (decompressed: gzip, bzip2, xz), undecodable bytes replaced.

    Line endings are read as ``\n`` (universal newlines: much the fastest way to read lines); the
    stream's ``newlines`` then says which endings it met, so what they weigh on disk is known.
    """
    return io.TextIOWrapper(open_bytes(path), encoding="utf-8", errors="replace", newline=None)


def service_of(path: Path) -> str:
    """A service name from a file name: ``checkout.log.gz``, ``checkout.log.1`` and
    ``checkout-2025-10-01.log`` → ``checkout`` (logrotate's names: one service, cut by time)."""
    name = re.sub(r"\.\d+$", "", plain_name(path.name))
    for suffix in LOG_SUFFIXES:
        name = name.removesuffix(suffix)
    return re.sub(r"[-_.]?\d{4}-?\d{2}-?\d{2}.*$", "", name) or path.parent.name


MAX_LINE_CHARS = 1 << 20  # a longer line is cut there (and counted as that long): memory stays bounded


def bounded_lines(stream: IO[str], n: int) -> list[str]:
    """Up to ``n`` lines; a line longer than MAX_LINE_CHARS is cut and the rest of it skipped."""
    out: list[str] = []
    while len(out) < n:
        line = stream.readline(MAX_LINE_CHARS)
        if not line:
            break
        if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
            while (rest := stream.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
                pass
        out.append(line)
    return out


def read_log_file(
    path: Path, header: str | None = None, chunk_lines: int = CHUNK_LINES
) -> Iterator[pl.DataFrame]:
    """The parsed chunks of one log file, in order (the next one parsed while this one is used)."""
    return read_ahead(_parsed_chunks(path, header, chunk_lines))


def _parsed_chunks(path: Path, header: str | None, chunk_lines: int) -> Iterator[pl.DataFrame]:
    if (answer := loki_answer(path)) is not None:  # a saved query_range answer: one document
        content, at, named = loki_stream_lines(answer)
        fmt = "text" if header else detect_format(content[:50])
        for start in range(0, len(content), chunk_lines):
            end = start + chunk_lines
            yield wrapped_contents(
                content[start:end], at[start:end], named[start:end], fmt, service_of(path), header
            )
        return
    try:
        stream = open_text(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    # about chunk_lines lines a block, by the size of a typical line
    blocks = ended_line_blocks(stream, MAX_LINE_CHARS, max(chunk_lines * 160, 4096))
    fmt, service, width = "text", container_service(path) or service_of(path), 1
    runtime: Unwrapper | None = None
    with stream:
        for i, (lines, ended) in enumerate(_reading(blocks, path)):
            if i == 0 and (kind := wrapper_format(lines[:50])):
                runtime = Unwrapper(kind)
            if runtime is not None:  # a runtime's or logcli's lines: their content is the log
                content, at, named = runtime.unwrap(lines)
                if i == 0:
                    fmt = "text" if header else detect_format(content[:50])
                yield wrapped_contents(content, at, named, fmt, service, header)
                continue
            if i == 0:
                fmt = "text" if header else detect_format(lines[:50])
                width = 2 if "\r\n" in (stream.newlines or ()) else 1  # the endings of the first block read
            yield parse_chunk(lines, fmt, service, header, width, ended)
        if runtime is not None and (last := runtime.rest())[0]:
            yield wrapped_contents(*last, fmt, service, header)


def _reading(blocks: Iterator[tuple[list[str], bool]], path: Path) -> Iterator[tuple[list[str], bool]]:
    while True:
        try:
            block = next(blocks, None)
        except READ_ERRORS as exc:
            raise InputError(f"cannot read (a compressed file cut short?): {exc}", file=str(path)) from None
        if block is None:
            return
        yield block
