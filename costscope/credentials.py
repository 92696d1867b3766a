"""Secrets that must never reach DuckDB, reports, JSON, logs or tracebacks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

REDACTED = "<redacted>"


@dataclass(frozen=True)
class Secret:
    """A credential read from an environment variable or a file; its repr never shows it."""

    origin: str  # "env:NAME" or "file:/path" — safe to show, it says where, not what
    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The secret itself, for the one place that puts it on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.origin})"

    __str__ = __repr__


_USERINFO = re.compile(r"//[^/@\s]*@")


def redact_url(url: str) -> str:
    """Drop any ``user:password@`` part and secret-looking query values from a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub("//" + REDACTED + "@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        query = re.sub(
            r"(?i)((?:^|&)(?:token|access_token|api_key|apikey|password|secret)=)[^&]*",
            r"\1" + REDACTED,
            query,
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secrets: list[Secret]) -> str:
    """Replace every occurrence of any of ``secrets`` in ``text`` (last line of defence)."""
    for secret in secrets:
        value = secret.reveal()
        if value:
            text = text.replace(value, REDACTED)
    return text
