"""A stand-in for Grafana Loki's HTTP API on 127.0.0.1, answering as Loki documents it.

Loki can't be installed here, so tests and the sample-data generator serve the documented
response shapes (docs/sources/reference/loki-http-api.md) from in-memory streams over real HTTP:
``status/buildinfo``, ``labels``, ``label/<name>/values``, ``series``, ``index/stats`` (bare
object), ``index/volume`` (Prometheus-style vector, ``targetLabels``, ``aggregateBy``),
``patterns`` (``<_>`` placeholders, samples of [seconds, count]) and ``query_range`` (streams of
[nanosecond string, line]). ``version`` switches endpoints off as older Lokis lack them (volume
before 2.9, stats before 2.6, patterns before 3.0); ``faults`` makes chosen paths fail first
(e.g. ``{"/loki/api/v1/index/volume": [429, 500]}``). ``start`` and ``end`` are required where
Loki requires them (400 otherwise).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

try:
    from scripts.loopback import loopback
except ModuleNotFoundError:  # run as a script: scripts/ itself is on the path
    from loopback import loopback  # type: ignore[no-redef]

Stream = tuple[dict[str, str], list[tuple[int, str]]]  # labels, [(ts_ns, line)]
_MATCHER = re.compile(r'(\w+)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"')


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def _selects(selector: str, labels: dict[str, str]) -> bool:
    for name, op, value in _MATCHER.findall(selector):
        value = value.replace('\\"', '"').replace("\\\\", "\\")
        have = labels.get(name, "")
        ok = {
            "=": have == value,
            "!=": have != value,
            "=~": re.fullmatch(value, have) is not None,
            "!~": re.fullmatch(value, have) is None,
        }[op]
        if not ok:
            return False
    return True


def pattern_of(line: str) -> str:
    """The pattern Loki's pattern ingester would show: variable tokens as ``<_>``."""
    return re.sub(r"\S*\d\S*", "<_>", line)


@dataclass
class LokiDouble:
    """The data and behaviour of one fake Loki."""

    streams: list[Stream]
    version: str = "3.1.0"
    faults: dict[str, list[int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    fixed_time_s: int | None = None  # answer with this time instead of the request's (reproducible bodies)
    multiplier: int = 1  # each stored line stands for this many in the index (query_range returns the stored)

    def has(self, feature: str) -> bool:
        need = {"volume": (2, 9), "stats": (2, 6), "patterns": (3, 0)}[feature]
        return _version_tuple(self.version) >= need

    def selected(self, selector: str) -> list[Stream]:
        return [s for s in self.streams if _selects(selector, s[0])]

    def answer(self, path: str, q: dict[str, list[str]]) -> tuple[int, object]:
        self.requests.append(path)
        pending = self.faults.get(path)
        if pending:
            return pending.pop(0), {"status": "error", "error": "injected fault"}
        if path == "/loki/api/v1/status/buildinfo":
            return 200, {"version": self.version, "revision": "0", "branch": "HEAD", "buildUser": "", "buildDate": "",
                         "goVersion": "go1.22"}  # fmt: skip
        if path == "/loki/api/v1/labels":
            return 200, {
                "status": "success",
                "data": sorted({k for labels, _ in self.streams for k in labels}),
            }
        if path.startswith("/loki/api/v1/label/") and path.endswith("/values"):
            name = unquote(path.split("/")[5])
            values = sorted({labels[name] for labels, _ in self.streams if name in labels})
            return 200, {"status": "success", "data": values}
        if path == "/loki/api/v1/series":
            chosen = [s for m in q.get("match[]", []) for s in self.selected(m)]
            return 200, {"status": "success", "data": [labels for labels, _ in chosen]}
        needs_window = ("/index/", "/patterns", "/query_range")
        if any(p in path for p in needs_window) and ("start" not in q or "end" not in q):
            return 400, "invalid query, start and end are required"
        query = q.get("query", [""])[0]
        if path == "/loki/api/v1/index/stats" and self.has("stats"):
            chosen = self.selected(query)
            entries = sum(len(v) for _, v in chosen) * self.multiplier
            size = sum(len(line.encode()) for _, v in chosen for _, line in v) * self.multiplier
            return 200, {"streams": len(chosen), "chunks": len(chosen), "entries": entries, "bytes": size}
        if path == "/loki/api/v1/index/volume" and self.has("volume"):
            targets = [t for t in q.get("targetLabels", [""])[0].split(",") if t]
            keys = targets or [name for name, _, _ in _MATCHER.findall(query)]
            sums: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
            for labels, values in self.selected(query):
                key = tuple((k, labels[k]) for k in keys if k in labels)
                sums[key] += sum(len(line.encode()) for _, line in values) * self.multiplier
            end_s = self.fixed_time_s or int(q["end"][0]) // 10**9
            result = [
                {"metric": dict(k), "value": [end_s, str(v)]}
                for k, v in sorted(sums.items(), key=lambda kv: -kv[1])
            ]
            limit = int(q.get("limit", ["100"])[0])
            return 200, {"status": "success", "data": {"resultType": "vector", "result": result[:limit]}}
        if path == "/loki/api/v1/patterns" and self.has("patterns"):
            counts: Counter[str] = Counter()
            for _, values in self.selected(query):
                counts.update(pattern_of(line) for _, line in values)
            ts = self.fixed_time_s or int(q["start"][0]) // 10**9
            data = [
                {"pattern": p, "samples": [[ts, n * self.multiplier]]}
                for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            return 200, {"status": "success", "data": data}
        if path == "/loki/api/v1/query_range":
            limit = int(q.get("limit", ["100"])[0])
            result = []
            left = limit
            for labels, values in self.selected(query):
                newest = sorted(values, reverse=True)[:left]
                left -= len(newest)
                if newest:
                    result.append({"stream": labels, "values": [[str(ts), line] for ts, line in newest]})
            return 200, {
                "status": "success",
                "data": {"resultType": "streams", "result": result, "stats": {}},
            }
        return 404, "404 page not found\n"


@contextmanager
def serve(double: LokiDouble) -> Iterator[str]:
    """Serve ``double`` on a free loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, body = double.answer(parts.path, parse_qs(parts.query))
            data = (json.dumps(body) if not isinstance(body, str) else body).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if not isinstance(body, str) else "text/plain"
            )
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with loopback(Handler) as url:
        yield url
