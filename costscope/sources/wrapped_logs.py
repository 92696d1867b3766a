"""Log lines inside a wrapper: a container runtime's, or logcli's export of a Loki's lines.

A node keeps each container's output as the runtime wrote it: CRI runtimes (containerd, CRI-O)
as ``<time> <stream> <F|P> <content>`` lines, Docker's json-file driver as ``{"log": "<content>\\n",
"stream": …, "time": …}``. A long line is split by the runtime (``P`` for partial, or a Docker
``log`` without its ``\\n``) and joined again by every log shipper (Promtail's and Alloy's ``cri``
and ``docker`` stages, Fluent Bit's parsers); what a log backend then stores and bills is the
content. ``logcli query -o jsonl`` writes what a Loki holds as ``{"labels": {…}, "line": …,
"timestamp": …}``, and a saved ``/loki/api/v1/query_range`` answer as streams of ``[ns, line]``
values: the line is the content, and its stream's labels name its service
(``service_name``, ``service``, ``app``, ``application``, ``job``, ``container``, as Loki's own
discovery looks). So are the lines read here: the wrapping is taken off, partial lines joined
(across chunks too), and the content is what template mining, levels and bytes see; the wrapper's
time stands where the content names none.

The files are ``/var/log/containers/<pod>_<namespace>_<container>-<id>.log`` (links) and
``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log`` (rotated: ``0.log.20241206-150000``,
gzipped). Their service is ``<namespace>/<container>``: the same for every pod of a workload, and
for every rotation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from costscope.errors import InputError
from costscope.sources.compressed import READ_ERRORS, open_bytes, plain_name, read_bytes
from costscope.sources.documents import mapping
from costscope.sources.log_lines import epoch_seconds, parse_chunk

_CRI_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T[^ ]+ (?:stdout|stderr) [FP](?: |$)")
_CONTAINERS = re.compile(r"^(?P<pod>[^_]+)_(?P<namespace>[^_]+)_(?P<container>.+)-[0-9a-f]{64}\.log$")
_POD_DIR = re.compile(r"^(?P<namespace>[^_]+)_(?P<pod>[^_]+)_[0-9a-f-]{36}$")
_STREAMS = re.compile(rb'"resultType"\s*:\s*"streams"')
_LABELS = ("service_name", "service", "app", "application", "job", "container")  # Loki's order
_DOCKER_FILE = re.compile(r"^(?P<id>[0-9a-f]{64})-json\.log(?:\.\d+)?$")
_POD_FILE = re.compile(r"^\d+\.log(?:\.\d{8}-\d{6})?$")


def container_service(path: Path) -> str | None:
    """``namespace/container`` for a file of a node's container log folders, the short id of a
    Docker container's ``<id>-json.log``; None for any other."""
    name = plain_name(path.name)
    if m := _CONTAINERS.match(name):
        return f"{m['namespace']}/{m['container']}"
    if _POD_FILE.match(name) and (m := _POD_DIR.match(path.parent.parent.name)):
        return f"{m['namespace']}/{path.parent.name}"
    if m := _DOCKER_FILE.match(name):  # /var/lib/docker/containers/<id>/<id>-json.log[.1]
        return f"container {m['id'][:12]}"
    return None


def wrapper_format(sample: list[str]) -> str | None:
    """``cri``, ``docker`` or ``logcli`` when a file's first lines are wrapped so, else None."""
    lines = [s.rstrip("\r\n") for s in sample if s.strip()][:50]
    most = 0.8 * len(lines)
    if not lines:
        return None
    if sum(bool(_CRI_LINE.match(s)) for s in lines) >= most:
        return "cri"
    if sum(s.startswith('{"log":') and '"stream":' in s and '"time":' in s for s in lines) >= most:
        return "docker"
    if sum(s.startswith(('{"labels":', '{"line":')) and '"timestamp":' in s for s in lines) >= most:
        return "logcli"
    return None


class Unwrapper:
    """Takes the runtime's wrapping off blocks of lines, in order; a partial line at the end of a
    block is held and joined to the start of the next."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self._held = pl.DataFrame(
            schema={"ts": pl.String, "content": pl.String, "whole": pl.Boolean, "service": pl.String}
        )

    def _rows(self, lines: list[str]) -> pl.DataFrame:
        raw = pl.Series("line", lines, dtype=pl.String).str.strip_chars_end("\r\n")
        if self.fmt == "cri":
            # four fields split on the first three spaces: much cheaper than a regex per line
            parts = raw.str.splitn(" ", 4).struct.rename_fields(["ts", "stream", "tag", "content"])
            frame = pl.DataFrame({"line": raw, "p": parts}).unnest("p")
            wrapped = pl.col("stream").is_in(["stdout", "stderr"]) & pl.col("tag").is_in(["F", "P"])
            # a line that is not the runtime's (cut short, say) is content of its own
            return frame.select(
                pl.when(wrapped).then(pl.col("ts")).alias("ts"),
                pl.when(wrapped)
                .then(pl.col("content").fill_null(""))
                .otherwise(pl.col("line"))
                .alias("content"),
                (~wrapped | (pl.col("tag") == "F")).alias("whole"),
                pl.lit(None, pl.String).alias("service"),
            )
        if self.fmt == "logcli":
            line = raw.str.json_path_match("$.line")
            service = pl.select(
                pl.coalesce([pl.lit(raw).str.json_path_match(f"$.labels.{k}") for k in _LABELS])
            ).to_series()
            return pl.DataFrame(
                {
                    "ts": raw.str.json_path_match("$.timestamp"),
                    "content": line.fill_null(raw),
                    "whole": pl.Series([True] * len(raw)),
                    "service": service,
                }
            )
        log = raw.str.json_path_match("$.log")
        return pl.DataFrame(
            {
                "ts": raw.str.json_path_match("$.time"),
                "content": log.fill_null(raw).str.strip_suffix("\n"),
                "whole": log.is_null() | log.str.ends_with("\n"),
                "service": pl.Series([None] * len(raw), dtype=pl.String),
            }
        )

    def unwrap(self, lines: list[str]) -> tuple[list[str], pl.Series, pl.Series]:
        """The content lines (partials joined), each one's wrapper time (ISO text) and service (the
        stream's, for logcli's lines; else null); a partial
        line at the end is held for the next block (``rest`` gives it when none follows)."""
        rows = pl.concat([self._held, self._rows(lines)])
        # an entry is a run of partial rows and the whole one that ends it
        rows = rows.with_columns(entry=pl.col("whole").cast(pl.Int32).cum_sum().shift(1, fill_value=0))
        self._held = self._held.clear()
        if rows.height and not rows["whole"][-1]:
            tail = rows["entry"][-1]
            self._held = rows.filter(pl.col("entry") == tail).drop("entry")
            rows = rows.filter(pl.col("entry") != tail)
        return self._joined(rows)

    def rest(self) -> tuple[list[str], pl.Series, pl.Series]:
        """The partial line held at the end of the file, as a line of its own (or nothing)."""
        rows, self._held = self._held.with_columns(entry=pl.lit(0)), self._held.clear()
        return self._joined(rows)

    @staticmethod
    def _joined(rows: pl.DataFrame) -> tuple[list[str], pl.Series, pl.Series]:
        if rows["whole"].all():  # no line split: each row is a line (the common block)
            return rows["content"].to_list(), rows["ts"], rows["service"]
        joined = rows.group_by("entry", maintain_order=True).agg(
            pl.col("content").str.join(""), pl.col("ts").first(), pl.col("service").first()
        )
        return joined["content"].to_list(), joined["ts"], joined["service"]


def is_loki_streams(doc: object) -> bool:
    """Whether ``doc`` is a Loki query answer of log streams (``data.resultType`` ``streams``)."""
    data = doc.get("data") if isinstance(doc, dict) else None
    return (
        isinstance(data, dict)
        and data.get("resultType") == "streams"
        and isinstance(data.get("result"), list)
    )


def loki_stream_lines(doc: dict[str, Any]) -> tuple[list[str], pl.Series, pl.Series]:
    """A Loki streams answer's lines, their times (ns epoch, as text) and their streams' services;
    oldest first, as a file is read."""
    rows: list[tuple[str, str, str | None]] = []
    for stream in doc["data"]["result"]:
        labels = mapping(stream.get("stream")) if isinstance(stream, dict) else {}
        service = next((str(labels[k]) for k in _LABELS if labels.get(k)), None)
        for value in stream.get("values") or [] if isinstance(stream, dict) else []:
            # [ns, line] or, with categorized labels, [ns, line, {structured metadata}]
            if isinstance(value, list) and len(value) >= 2 and isinstance(value[1], str):
                rows.append((str(value[0]), value[1], service))
    rows.sort(key=lambda r: int(r[0]) if r[0].isdigit() else 0)
    return (
        [r[1] for r in rows],
        pl.Series("ts", [r[0] for r in rows], dtype=pl.String),
        pl.Series("service", [r[2] for r in rows], dtype=pl.String),
    )


def loki_answer(path: Path) -> dict[str, Any] | None:
    """The Loki streams answer ``path`` holds, or None (any other file)."""
    try:
        with open_bytes(path) as fh:
            head = fh.read(4096)
    except (OSError, *READ_ERRORS):
        return None  # the line reader says why
    if not head.lstrip().startswith(b"{") or not _STREAMS.search(head):
        return None
    try:
        doc = json.loads(read_bytes(path))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"a Loki answer that does not parse: {exc}", file=str(path)) from None
    return doc if is_loki_streams(doc) else None


def wrapped_contents(
    content: list[str], at: pl.Series, labelled: pl.Series, fmt: str, service: str, header: str | None
) -> pl.DataFrame:
    """Parsed content lines of a wrapped log: what a shipper sends, a line and its newline each;
    the wrapper's time where the content names none, the stream's service before the line's."""
    parsed = parse_chunk(content, fmt, service, header, 1, True)
    wrapper_ts = epoch_seconds(pl.col("at"))
    return (
        parsed.with_columns(at=at, labelled=labelled)
        .with_columns(
            pl.coalesce("ts", wrapper_ts).alias("ts"), pl.coalesce("labelled", "service").alias("service")
        )
        .drop("at", "labelled")
    )
