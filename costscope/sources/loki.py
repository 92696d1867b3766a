"""Grafana Loki: log volume by service and level, and templates, through Loki's HTTP API.

Over the source's ``lookback`` window (``start``/``end`` in nanoseconds, which Loki requires):

- ``/loki/api/v1/status/buildinfo`` for the version (absent on some gateways: not required);
- ``/loki/api/v1/labels``: which label names a service (``service_name``, ``service``, ``app``,
  ``job``, ``container``) and a level (``detected_level``, ``level``, ``severity``);
- bytes per service and level: ``/loki/api/v1/index/volume`` (Loki 2.9+, ``targetLabels``,
  ``aggregateBy=series``); lines per service: ``/loki/api/v1/index/stats`` (2.6+). Before 2.9
  volume falls back to stats per service (no level split); before 2.6 there is nothing to read
  but lines, and the source says so;
- templates per service: ``/loki/api/v1/patterns`` (3.0+, with a pattern ingester) where
  available, each pattern weighted by its count; otherwise a sample of ``sample_lines`` lines
  through ``query_range`` mined like a file and scaled to the service's line count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import polars as pl

from costscope.errors import SourceError
from costscope.sources.http import HttpClient
from costscope.sources.log_lines import detect_format, parse_chunk
from costscope.sources.sinks import LogsSink

SERVICE_LABELS = ("service_name", "service", "app", "application", "job", "container")
LEVEL_LABELS = ("detected_level", "level", "severity", "lvl")
VOLUME_LIMIT = 5000
_MISSING = frozenset({404})


@dataclass(frozen=True)
class LokiInfo:
    """What a Loki answered about itself and its labels."""

    version: str | None
    service_label: str
    level_label: str | None


def _data(answer: Any, client: HttpClient, path: str) -> Any:
    if not isinstance(answer, dict) or answer.get("status", "success") != "success" or "data" not in answer:
        raise client.error("unexpected answer (no data)", path)
    return answer["data"]


class LokiSource:
    """Reads one Loki (or a Loki-compatible gateway) into log_volume and log_templates."""

    def __init__(self, client: HttpClient, writer: LogsSink) -> None:
        self.client = client
        self.writer = writer
        self.end_ns = int(time.time() * 1e9)
        self.start_ns = self.end_ns - int(client.source.lookback_s * 1e9)

    def _window(self, **params: Any) -> dict[str, Any]:
        return {"start": str(self.start_ns), "end": str(self.end_ns), **params}

    def detect(self) -> LokiInfo:
        """Version and the labels that name services and levels."""
        build = self.client.get("/loki/api/v1/status/buildinfo", accept=_MISSING)
        version = None
        if build.status_code == 200:
            try:
                version = str(build.json().get("version") or "") or None
            except ValueError:
                version = None
        labels = _data(
            self.client.get_json("/loki/api/v1/labels", self._window()), self.client, "/loki/api/v1/labels"
        )
        names = set(labels) if isinstance(labels, list) else set()
        service = next((lb for lb in SERVICE_LABELS if lb in names), None)
        if service is None:
            raise self.client.error(
                f"no label names a service (looked for {', '.join(SERVICE_LABELS)}; found {', '.join(sorted(names)) or 'none'})",
                "/loki/api/v1/labels",
            )
        level = next((lb for lb in LEVEL_LABELS if lb in names), None)
        return LokiInfo(version, service, level)

    def volume(self, info: LokiInfo) -> pl.DataFrame | None:
        """Bytes per (service, level) from index/volume; None where the endpoint is missing."""
        targets = ",".join(x for x in (info.service_label, info.level_label) if x)
        response = self.client.get(
            "/loki/api/v1/index/volume",
            self._window(
                query=f'{{{info.service_label}=~".+"}}',
                limit=VOLUME_LIMIT,
                targetLabels=targets,
                aggregateBy="series",
            ),
            accept=_MISSING,
        )
        if response.status_code == 404:
            return None
        data = _data(response.json(), self.client, "/loki/api/v1/index/volume")
        rows = []
        for item in data.get("result", []) if isinstance(data, dict) else []:
            metric, value = item.get("metric") or {}, item.get("value") or [0, "0"]
            rows.append(
                {
                    "service": metric.get(info.service_label),
                    "level": metric.get(info.level_label) if info.level_label else None,
                    "bytes": float(value[1]),
                }
            )
        return pl.DataFrame(rows, schema={"service": pl.String, "level": pl.String, "bytes": pl.Float64})

    def stats(self, service_label: str, service: str) -> tuple[float, float] | None:
        """(lines, bytes) of one service from index/stats; None where the endpoint is missing."""
        response = self.client.get(
            "/loki/api/v1/index/stats",
            self._window(query=f'{{{service_label}="{_escape(service)}"}}'),
            accept=_MISSING,
        )
        if response.status_code == 404:
            return None
        doc = response.json()
        if not isinstance(doc, dict) or "entries" not in doc:
            raise self.client.error("unexpected answer (no entries)", "/loki/api/v1/index/stats")
        return float(doc["entries"]), float(doc["bytes"])

    def services(self, info: LokiInfo) -> list[str]:
        """The values of the service label."""
        path = f"/loki/api/v1/label/{info.service_label}/values"
        values = _data(self.client.get_json(path, self._window()), self.client, path)
        return sorted(str(v) for v in values) if isinstance(values, list) else []

    def patterns(self, selector: str) -> list[tuple[str, float]] | None:
        """(pattern, count) of a selector from the pattern ingester; None where it is missing."""
        response = self.client.get(
            "/loki/api/v1/patterns", self._window(query=selector), accept=_MISSING | {400}
        )
        if response.status_code in (404, 400):
            return None
        data = _data(response.json(), self.client, "/loki/api/v1/patterns")
        out = []
        for item in data if isinstance(data, list) else []:
            count = sum(float(s[1]) for s in item.get("samples") or [])
            if item.get("pattern") and count:
                out.append((str(item["pattern"]).replace("<_>", "<*>"), count))
        return out

    def sample(self, selector: str, limit: int) -> list[tuple[dict[str, str], list[str]]]:
        """Up to ``limit`` recent lines per stream of a selector (query_range, backward)."""
        data = _data(
            self.client.get_json(
                "/loki/api/v1/query_range", self._window(query=selector, limit=limit, direction="backward")
            ),
            self.client,
            "/loki/api/v1/query_range",
        )
        if not isinstance(data, dict) or data.get("resultType") != "streams":
            raise self.client.error("unexpected answer (not streams)", "/loki/api/v1/query_range")
        return [
            (item.get("stream") or {}, [v[1] for v in item.get("values") or []])
            for item in data.get("result", [])
        ]

    def collect(self) -> tuple[str | None, int]:
        """Read volume and templates of every service; (version, services read)."""
        info = self.detect()
        volume = self.volume(info)
        services = sorted(set(volume["service"].drop_nulls())) if volume is not None else self.services(info)
        rows = []
        for service in services:
            selector = f'{{{info.service_label}="{_escape(service)}"}}'
            stats = self.stats(info.service_label, service)
            if stats is None and volume is None:
                raise SourceError(
                    "this Loki has neither index/volume (2.9+) nor index/stats (2.6+): upgrade it or read the log files",
                    source=self.client.source.name,
                    url=self.client.url(""),
                )
            svc_volume = volume.filter(pl.col("service") == service) if volume is not None else None
            svc_bytes = (
                float(svc_volume["bytes"].sum()) if svc_volume is not None else stats[1] if stats else 0.0
            )
            svc_lines = stats[0] if stats else None
            self._templates(info, service, selector, svc_lines, svc_bytes, svc_volume)
            if svc_volume is not None and svc_volume.height:
                for level, level_bytes in svc_volume.select("level", "bytes").iter_rows():
                    share = level_bytes / svc_bytes if svc_bytes else 0.0
                    rows.append((service, level, level_bytes, (svc_lines or 0.0) * share))
            else:
                rows.append((service, None, svc_bytes, svc_lines or 0.0))
        self.writer.set_volume(
            pl.DataFrame(
                [
                    {
                        "stream": f'{{{info.service_label}="{_escape(svc)}"'
                        + (f', {info.level_label}="{_escape(lv)}"' if lv and info.level_label else "")
                        + "}",
                        "service": svc,
                        "level": lv.upper() if lv else None,
                        "lines": n,
                        "bytes": b,
                        "error_lines": n if lv and lv.upper() in ("ERROR", "FATAL", "CRITICAL") else 0.0,
                    }
                    for svc, lv, b, n in rows
                ],
                schema={
                    "stream": pl.String,
                    "service": pl.String,
                    "level": pl.String,
                    "lines": pl.Float64,
                    "bytes": pl.Float64,
                    "error_lines": pl.Float64,
                },
            )
        )
        return info.version, len(services)

    def _templates(
        self, info: LokiInfo, service: str, selector: str, lines: float | None, total_bytes: float,
        by_level: pl.DataFrame | None,
    ) -> None:  # fmt: skip
        """Templates of one service: Loki's patterns per level where it has them, else a sample."""
        levels = by_level.select("level", "bytes").rows() if by_level is not None and info.level_label else []
        parts = [(f'{selector[:-1]}, {info.level_label}="{_escape(lv)}"}}', lv, b) for lv, b in levels if lv]
        if not parts:
            parts = [(selector, None, total_bytes)]
        found = [(sel, lv, b, self.patterns(sel)) for sel, lv, b in parts]
        if all(p for *_, p in found):
            for sel, level, level_bytes, patterns in found:
                assert patterns is not None
                count = sum(c for _, c in patterns)
                level_lines = (lines or count) * (level_bytes / total_bytes if total_bytes else 1.0)
                texts = [p for p, _ in patterns]
                chunk = parse_chunk(texts, detect_format(texts[:50]), service).with_columns(
                    service=pl.lit(service),
                    level=pl.lit(level.upper()) if level else pl.col("level"),
                    bytes=pl.lit(round(level_bytes / level_lines) if level_lines else 0, dtype=pl.Int64),
                    weight=pl.Series([c * level_lines / count for _, c in patterns], dtype=pl.Float64),
                )
                self.writer.add(chunk, sel)
            return
        limit = self.client.source.sample_lines
        streams = self.sample(selector, limit) if limit else []
        sampled = sum(len(v) for _, v in streams)
        if not sampled:
            return
        scale = (lines / sampled) if lines else (total_bytes / max(1.0, _bytes_of(streams)))
        for labels, values in streams:
            chunk = parse_chunk(values, detect_format(values[:50]), service)
            level = labels.get(info.level_label) if info.level_label else None
            chunk = chunk.with_columns(
                service=pl.lit(service),
                level=pl.lit(level.upper()) if level else pl.col("level"),
                weight=pl.lit(scale),
            )
            stream = "{" + ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"
            self.writer.add(chunk, stream)


def _bytes_of(streams: list[tuple[dict[str, str], list[str]]]) -> float:
    return float(sum(len(v.encode()) + 1 for _, values in streams for v in values))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
