"""HTTP for sources: retries with backoff on what a retry can fix, Retry-After, clear errors."""

from __future__ import annotations

import httpx
import pytest

from costscope.config import Auth, SourceConfig
from costscope.credentials import Secret
from costscope.errors import SourceError
from costscope.sources.http import HttpClient


def _client(handler, retries: int = 3, **kw: object) -> tuple[HttpClient, list[float]]:  # type: ignore[no-untyped-def]
    slept: list[float] = []
    src = SourceConfig(name="s", url="http://prom.test:9090", retries=retries, **kw)  # type: ignore[arg-type]
    return HttpClient(src, transport=httpx.MockTransport(handler), sleep=slept.append), slept


def test_retries_5xx_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) < 3 else 200, text="ok")

    client, slept = _client(handler)
    assert client.get("/x").text == "ok"
    assert len(calls) == 3 and len(slept) == 2
    assert all(0 <= s <= 10 for s in slept)


def test_honours_retry_after_on_429_capped() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        if len(calls) == 2:
            return httpx.Response(429, headers={"Retry-After": "86400"})
        return httpx.Response(200)

    client, slept = _client(handler)
    client.get("/x")
    assert slept == [7.0, 60.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, text="nope")

    client, _ = _client(handler)
    with pytest.raises(SourceError, match=f"HTTP {status}"):
        client.get("/x")
    assert len(calls) == 1


def test_bounded_retries_then_a_clear_error_naming_the_source() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client, slept = _client(handler, retries=2)
    with pytest.raises(SourceError) as info:
        client.get("/api/v1/query")
    assert len(slept) == 2
    assert "after 3 attempts" in str(info.value)
    assert str(info.value).startswith("s (http://prom.test:9090/api/v1/query)")


def test_auth_tenant_and_headers_are_sent_and_never_shown() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(500, text=f"echo {request.headers.get('authorization')}")

    auth = Auth(bearer_token=Secret("env:T", "sekret-123"))
    client, _ = _client(handler, retries=0, auth=auth, tenant="team-a", headers=(("X-Env", "prod"),))
    with pytest.raises(SourceError) as info:
        client.get("/x")
    assert seen["authorization"] == "Bearer sekret-123"
    assert seen["x-scope-orgid"] == "team-a" and seen["x-env"] == "prod"
    assert "sekret-123" not in str(info.value)


def test_path_prefix_is_kept() -> None:
    urls = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200)

    client, _ = _client(handler, path_prefix="/prometheus")
    client.get("/api/v1/labels")
    assert urls == ["http://prom.test:9090/prometheus/api/v1/labels"]
