"""Compressed files, told by their first bytes, never by their names: gzip, bzip2 and xz.

logrotate compresses with gzip by default and with bzip2 or xz where configured, and a dump may be
gzipped and keep its name (``metrics.prom``). Every file reader opens files here, so what the kind
detection saw (the decompressed head) is what the reader reads. zstd is told apart and said by
name: Python 3.11 has no decoder for it in its standard library.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zlib
from pathlib import Path
from typing import IO, Any, cast

from costscope.errors import InputError

_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_SUFFIX = re.compile(r"\.(gz|bz2|xz|zst)$")
# what a cut-short or corrupt stream raises while it is read
READ_ERRORS = (OSError, EOFError, lzma.LZMAError)


def compression(head: bytes) -> str | None:
    """``gzip``, ``bzip2``, ``xz`` or ``zstd`` by a file's first bytes; None when it is not compressed."""
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


def plain_name(name: str) -> str:
    """A file name without its compression suffix: ``app.log.gz`` → ``app.log``."""
    return _SUFFIX.sub("", name)


def compression_of(path: Path) -> str | None:
    """How the file at ``path`` is compressed, by its first bytes (None: it is not)."""
    with path.open("rb") as probe:
        return compression(probe.read(6))


def open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes as a stream, decompressed when it is gzip, bzip2 or xz (reading it may
    raise one of ``READ_ERRORS`` when the stream is cut short or corrupt)."""
    kind = compression_of(path)
    if kind == "gzip":
        return cast(IO[bytes], gzip.GzipFile(path, "rb"))
    if kind == "bzip2":
        return cast(IO[bytes], bz2.BZ2File(path, "rb"))
    if kind == "xz":
        return cast(IO[bytes], lzma.LZMAFile(path, "rb"))
    if kind == "zstd":
        raise InputError(
            "zstd-compressed: decompress it first (zstd -d), or recompress it with gzip", file=str(path)
        )
    return path.open("rb")


def read_bytes(path: Path) -> bytes:
    """The whole file, decompressed; an unreadable file or a stream cut short or corrupt is an
    ``InputError`` naming it."""
    try:
        with open_bytes(path) as fh:
            return fh.read()
    except READ_ERRORS as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None


def head(path: Path, kind: str, size: int) -> bytes:
    """Up to ``size`` bytes of the start of a ``kind``-compressed file's content: as many as can
    be decompressed, so a file cut short still shows what it starts with."""
    decompressor: Any
    if kind == "gzip":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif kind == "bzip2":
        decompressor = bz2.BZ2Decompressor()
    elif kind == "xz":
        decompressor = lzma.LZMADecompressor()
    else:
        return b""
    out = b""
    try:
        with path.open("rb") as fh:
            while len(out) < size and (raw := fh.read(4096)):  # 4 KiB in: a bounded most out
                out += decompressor.decompress(raw)
    except (*READ_ERRORS, zlib.error):
        pass
    return out[:size]
