"""Recorded HTTP payloads: capture a server's API responses, and serve them back offline.

A recording is a folder with ``recording.json`` (the manifest: base URL and one entry per
request) and one file per response body, exactly as the server sent it. Replaying it goes through
the same HTTP client and parsers as a live server, which is how sample_data/ exercises the real
code, and how a user can send a reproducible report of what their server answered. Time
parameters (``start``, ``end``, ``time``) are ignored when matching, so a recording stays valid.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from costscope.errors import InputError
from costscope.sources.recording import FORMAT, MANIFEST, TIME_PARAMS, load_manifest, request_key

_DECODED_AWAY = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ReplayTransport(httpx.BaseTransport):
    """Answers requests from a recording; an unrecorded request gets a 404 that says so."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        manifest = load_manifest(directory)
        self.base_path = urlsplit(manifest["base_url"]).path.rstrip("/")
        self._responses: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(manifest["responses"]):
            if not isinstance(entry, dict) or not {"path", "params", "status", "file"} <= set(entry):
                raise InputError(
                    f"responses[{i}] needs path, params, status and file", file=str(directory / MANIFEST)
                )
            self._responses[request_key(entry["path"], entry["params"])] = entry

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(self.base_path) or "/"
        entry = self._responses.get(request_key(path, list(request.url.params.multi_items())))
        if entry is None:
            body = {"status": "error", "errorType": "not_recorded", "error": f"{path} was not recorded"}
            return httpx.Response(404, json=body, request=request)
        content = (self.directory / entry["file"]).read_bytes()
        headers = {"Content-Type": entry.get("content_type", "application/json")}
        return httpx.Response(entry["status"], content=content, headers=headers, request=request)


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to a real transport and writes every response into a recording."""

    def __init__(
        self,
        directory: Path,
        base_url: str,
        inner: httpx.BaseTransport | None = None,
        kind: str | None = None,
    ) -> None:
        self.directory = directory
        self.kind = kind
        self.base_url = base_url
        self.base_path = urlsplit(base_url).path.rstrip("/")
        self.inner = inner or httpx.HTTPTransport()
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        path = request.url.path.removeprefix(self.base_path) or "/"
        params = [[k, v] for k, v in request.url.params.multi_items() if k not in TIME_PARAMS]
        name = hashlib.sha256(request_key(path, params).encode()).hexdigest()[:16] + ".body"
        (self.directory / name).write_bytes(body)
        entry = {"path": path, "params": params, "status": response.status_code, "file": name,
                 "content_type": response.headers.get("Content-Type", "application/json")}  # fmt: skip
        with self._lock:
            self.entries.append(entry)
        # read() decoded the body: pass it on (and store it) without the encoding it arrived in
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DECODED_AWAY]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def close(self) -> None:
        manifest: dict[str, Any] = {"format": FORMAT, "base_url": self.base_url, "responses": self.entries}
        if self.kind:
            manifest["kind"] = self.kind  # what answered: replayed as the same kind of source
        (self.directory / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        self.inner.close()
