"""What a file holds, read lazily and only as far as telling its kind needs: ``Sniff``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from costscope.errors import InputError
from costscope.sources.compressed import compression, plain_name, read_bytes
from costscope.sources.compressed import head as decompressed_head
from costscope.sources.yaml_text import yaml_documents

HEAD_BYTES = 64 << 10  # enough for the first lines or the opening of any document
MAX_WHOLE_BYTES = 64 << 20  # a JSON document parsed whole to see its keys; larger: its first line
MAX_YAML_BYTES = 16 << 20  # no rule or SLO file is this big
_YAML_START = re.compile(r"^(?:---|- |[\w.\"'-]+:(?:\s|$))")

__all__ = ["HEAD_BYTES", "MAX_WHOLE_BYTES", "Sniff"]


class Sniff:
    """What a file holds, read lazily: its head, its JSON document or first line, its YAML documents."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        self.compression = compression(head)
        if self.compression is not None:
            head = decompressed_head(path, self.compression, HEAD_BYTES)
        self.head = head.removeprefix(b"\xef\xbb\xbf")
        self.size = path.stat().st_size
        self.name = plain_name(path.name).lower()
        self.broken_yaml = False  # set once ``yaml`` found text that YAML refuses
        self.unreadable: str | None = None  # why ``data`` could not be read, once it was tried

    @cached_property
    def binary(self) -> bool:
        """Whether the head holds bytes no text format has (NUL, or not UTF-8), or is compressed
        in a way that cannot be read (zstd, or corrupt from its start)."""
        if b"\x00" in self.head or (self.compression and not self.head):
            return True
        try:
            self.head[:-4].decode("utf-8")  # a character may be cut at the end of the head
        except UnicodeDecodeError:
            return True
        return False

    @cached_property
    def text(self) -> str:
        """The head as text."""
        return self.head.decode("utf-8", errors="replace")

    @cached_property
    def lines(self) -> list[str]:
        """The head's first non-blank lines (at most 20), whole lines only."""
        body = self.text if len(self.head) < HEAD_BYTES else self.text.rsplit("\n", 1)[0]
        return [line.strip() for line in body.splitlines() if line.strip()][:20]

    @cached_property
    def data(self) -> bytes:
        """The whole file (decompressed), for a document small enough to parse whole; read once.
        Nothing where it cannot be read (a stream corrupt past its head): its reader says why."""
        try:
            return read_bytes(self.path).removeprefix(b"\xef\xbb\xbf")
        except InputError as exc:
            self.unreadable = exc.message
            return b""

    @cached_property
    def json(self) -> Any:
        """The JSON document (whole, when small enough), else the first line's; None if not JSON."""
        start = self.text.lstrip()[:1]
        if start not in ("{", "["):
            return None
        if self.size <= MAX_WHOLE_BYTES:
            try:
                return json.loads(self.data)
            except (ValueError, OSError, EOFError, RecursionError):
                pass
        first = self.lines[0] if self.lines else ""
        try:
            return json.loads(first)
        except (ValueError, RecursionError):
            return None

    @cached_property
    def json_lines(self) -> bool:
        """Whether the file is JSON Lines: its first two lines are each a JSON object."""
        if len(self.lines) < 2:
            return False
        try:
            return all(isinstance(json.loads(line), dict) for line in self.lines[:2])
        except (ValueError, RecursionError):
            return False

    @cached_property
    def document(self) -> Any:
        """The file's one JSON document; None for JSON Lines, or a file that is no JSON."""
        return None if self.json_lines else self.json

    @cached_property
    def first_object(self) -> dict[str, Any] | None:
        """The JSON object a kind is told by: the document, or the first line of JSON Lines."""
        if self.json_lines:
            return json.loads(self.lines[0])  # type: ignore[no-any-return]
        return self.json if isinstance(self.json, dict) else None

    @cached_property
    def broken_json(self) -> bool:
        """Whether the file opens like JSON but is neither a JSON document nor JSON Lines."""
        return self.text.lstrip()[:1] in ("{", "[") and self.json is None

    @cached_property
    def json_error(self) -> str | None:
        """Where and why the file's JSON does not parse (``line 9: Expecting …``), if it does not."""
        if not self.broken_json or self.size > MAX_WHOLE_BYTES:
            return None
        try:
            json.loads(self.data)
        except json.JSONDecodeError as exc:
            return f"line {exc.lineno}: {exc.msg}"
        except (ValueError, RecursionError) as exc:
            return str(exc) or type(exc).__name__
        return None

    @cached_property
    def yaml(self) -> list[Any]:
        """The YAML mappings and lists of a small file that parses as YAML (and is not JSON); else []."""
        if self.binary or self.json is not None or self.size > MAX_YAML_BYTES:
            return []
        first = next((line for line in self.lines if not line.startswith("#")), "")
        if not self.has_suffix((".yml", ".yaml")) and not _YAML_START.match(first):
            return []  # YAML parses any text (slowly): only what opens like a mapping, a list or ---
        try:
            docs = yaml_documents(self.data.decode("utf-8", errors="replace"))
        except (yaml.YAMLError, OSError, EOFError, ValueError, RecursionError):
            self.broken_yaml = True
            return []
        return [d for d in docs if isinstance(d, dict | list)]  # plain text is a YAML string too

    def has_suffix(self, suffixes: Iterable[str]) -> bool:
        """Whether the name (without ``.gz``, ``.bz2``, ``.xz``) ends in one of ``suffixes``."""
        return self.name.endswith(tuple(suffixes))
