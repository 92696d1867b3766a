"""HTTP for every source: auth, tenant header, TLS, timeouts, bounded retries with backoff.

Retries are for what a later attempt can fix: connection errors, timeouts, 429 and 5xx. They
use full-jitter exponential backoff and honour ``Retry-After`` (capped, so a hostile server
can't park us). Every error message carries the URL with credentials removed, and the
secrets of the source are scrubbed from it as a last line of defence.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costscope._version import __version__
from costscope.config import SourceConfig
from costscope.credentials import redact_url, scrub
from costscope.errors import SourceError

if TYPE_CHECKING:  # httpx is imported where a client is made: a run of files alone never pays for it
    import httpx

log = logging.getLogger("costscope.http")

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
BASE_BACKOFF_S = 0.25
MAX_BACKOFF_S = 10.0
MAX_BODY_BYTES = 1 << 30  # refuse a response larger than 1 GiB


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER_S)


class HttpClient:
    """An httpx client bound to one source's URL, auth and retry policy."""

    def __init__(
        self,
        source: SourceConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Any = time.sleep,
        record_to: Path | None = None,
    ) -> None:
        import httpx

        self.source = source
        self._secrets = source.auth.secrets()
        self._sleep = sleep
        headers = {"User-Agent": f"costscope/{__version__}"}
        headers.update(dict(source.headers))
        if source.tenant:
            headers["X-Scope-OrgID"] = source.tenant
        auth: httpx.Auth | None = None
        if source.auth.bearer_token is not None:
            headers["Authorization"] = "Bearer " + source.auth.bearer_token.reveal()
        elif source.auth.basic_username is not None and source.auth.basic_password is not None:
            auth = httpx.BasicAuth(source.auth.basic_username, source.auth.basic_password.reveal())
        for name, secret in source.auth.secret_headers:
            headers[name] = secret.reveal()
        verify: Any = source.tls_verify
        if source.tls_verify and source.ca_file is not None:
            import ssl

            verify = ssl.create_default_context(cafile=str(source.ca_file))
        if record_to is not None:
            from costscope.sources.replay import RecordingTransport

            inner = transport or httpx.HTTPTransport(verify=verify)
            kind = source.kind if source.kind != "auto" else None
            transport = RecordingTransport(record_to, redact_url(source.url or ""), inner, kind)
        self._client = httpx.Client(
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(source.timeout_s),
            verify=verify,
            transport=transport,
            follow_redirects=True,
        )

    def url(self, path: str) -> str:
        """The full URL of ``path`` under the source's base URL and path prefix."""
        base = (self.source.url or "").rstrip("/") + self.source.path_prefix
        return base + path if path else base

    def _error(self, message: str, url: str) -> SourceError:
        return SourceError(scrub(message, self._secrets), source=self.source.name, url=redact_url(url))

    def error(self, message: str, path: str = "") -> SourceError:
        """A ``SourceError`` about ``path`` of this source: URL redacted, secrets scrubbed."""
        return self._error(message, self.url(path))

    def get(
        self, path: str = "", params: Mapping[str, Any] | None = None, *, accept: frozenset[int] = frozenset()
    ) -> httpx.Response:
        """GET ``path`` with bounded retries; raises ``SourceError`` once they are spent.

        A response whose status is in ``accept`` is returned as it is, for the caller to read.
        """
        return self.request("GET", path, params, accept=accept)

    def put(self, path: str, body: str, content_type: str = "text/plain; version=0.0.4") -> httpx.Response:
        """PUT ``body`` to ``path`` with the same bounded retries."""
        return self.request("PUT", path, content=body.encode(), headers={"Content-Type": content_type})

    def request(
        self,
        method: str,
        path: str = "",
        params: Mapping[str, Any] | None = None,
        *,
        accept: frozenset[int] = frozenset(),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request with bounded retries and backoff (``Retry-After`` honoured)."""
        import httpx

        url = self.url(path)
        attempts = self.source.retries + 1
        last = ""
        for attempt in range(attempts):
            wait: float | None = None
            try:
                response = self._client.request(method, url, params=params, content=content, headers=headers)
            except httpx.TimeoutException:
                last = f"timed out after {self.source.timeout_s:g}s"
            except httpx.TransportError as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise self._error(
                        "TLS certificate verification failed; set tls.ca_file to the CA that"
                        " signed it (or tls.verify: false, not recommended)",
                        url,
                    ) from None
                last = f"connection failed: {exc}"
            else:
                if response.status_code < 400 or response.status_code in accept:
                    length = response.headers.get("Content-Length")
                    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
                        raise self._error(f"response larger than {MAX_BODY_BYTES} bytes", url)
                    return response
                last = f"HTTP {response.status_code}: {response.text[:200].strip()}"
                if response.status_code not in RETRY_STATUS:
                    raise self._error(last, url)
                wait = _retry_after(response)
            if attempt + 1 < attempts:
                if wait is None:
                    wait = random.uniform(0, min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt))
                log.warning(
                    "retrying %s in %.2fs (%s)",
                    redact_url(url),
                    wait,
                    scrub(last, self._secrets),
                    extra={"source": self.source.name, "attempt": attempt + 1},
                )
                self._sleep(wait)
        raise self._error(f"{last} (after {attempts} attempts)", url)

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, accept: frozenset[int] = frozenset()
    ) -> Any:
        """GET and decode JSON; a body that is not JSON is a ``SourceError`` (None for a status in ``accept``)."""
        response = self.get(path, params, accept=accept)
        try:
            return response.json()
        except ValueError:
            if response.status_code in accept:
                return None  # an accepted refusal in plain text ("404 page not found" from Mimir)
            raise self._error(
                f"expected JSON, got {response.headers.get('Content-Type', 'no content type')}",
                str(response.url),
            ) from None

    def close(self) -> None:
        """Close the connection pool (and finish a recording, when recording)."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
