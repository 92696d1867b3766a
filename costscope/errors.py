"""The exceptions costscope raises on purpose.

Every error a user can cause or meet (bad input, bad config, a failing server, a busy
database) is a ``CostscopeError`` that carries where it happened. The CLI prints it as one
line and exits with its ``exit_code`` (see docs/cli.md). Any other exception is a bug and
keeps its traceback.

    CostscopeError
     ├── ConfigError        costscope.yaml or a budgets file: file, line, field   (exit 2)
     ├── InputError         a file or payload we were given: file/url, line       (exit 2)
     │    ├── ParseError    malformed exposition, JSON, YAML: also the offending text
     │    └── InputWarning  a file not recognised, or read and yielding nothing: said, never fatal
     ├── StoreError         the DuckDB file: locked, newer schema, unreadable     (exit 2)
     └── SourceError        a server failed: source, url                          (exit 3)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BREACH = 1
EXIT_BAD_INPUT = 2
EXIT_SOURCE_FAILED = 3


class CostscopeError(Exception):
    """Root of every error costscope raises on purpose."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def location(self) -> str:
        """Where the error happened, as ``file:line: field`` or ``source (url)``; may be empty."""
        return ""

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class ConfigError(CostscopeError):
    """A configuration file is invalid; names the file, line and field."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str = ""
    ) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field

    def location(self) -> str:
        parts = [p for p in (self.file, str(self.line) if self.line else None) if p]
        where = ":".join(parts)
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        return where


class InputError(CostscopeError):
    """Something we were asked to read is unusable (missing, wrong kind, too large)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line

    def location(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""


class ParseError(InputError):
    """Malformed input; carries the offending text (truncated) beside the location."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        text: str | None = None,
    ) -> None:
        if text is not None:
            shown = text if len(text) <= 120 else text[:117] + "..."
            message = f"{message}: {shown!r}"
        super().__init__(message, file=file, line=line)
        self.text = text


class InputWarning(InputError):
    """A file that was not recognised, yielded nothing, or was read with a caveat: a line in data quality.

    Never raised: it is recorded with the snapshot (severity ``warning``) and shown in every
    output, and does not make a run partial.
    """


class StoreError(CostscopeError):
    """The DuckDB store can't be used: locked by another process, too new, or damaged."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def location(self) -> str:
        return self.path or ""


class SourceError(CostscopeError):
    """A source (a server or a file behind a URL) failed after bounded retries."""

    exit_code = EXIT_SOURCE_FAILED

    def __init__(self, message: str, *, source: str = "", url: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.url = url

    def location(self) -> str:
        if self.source and self.url:
            return f"{self.source} ({self.url})"
        return self.source or self.url or ""
