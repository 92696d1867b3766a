"""costscope's own observability: structured logs with a run id, and per-stage timings.

Logs go to stderr, human-readable by default or one JSON object per line with
``--log-format json``; every line carries the ``run_id`` that is also stored with the snapshot,
so a log line, a snapshot row and a pushed metric of the same run can be joined.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from costscope.credentials import Secret, scrub

LOG_FORMATS = ("human", "json")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def new_run_id() -> str:
    """A short random id for one run."""
    return uuid.uuid4().hex[:12]


class _Context(logging.Filter):
    def __init__(self, run_id: str, secrets: list[Secret]) -> None:
        super().__init__()
        self.run_id = run_id
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = self.run_id
        if self.secrets:
            record.msg = scrub(record.getMessage(), self.secrets)
            record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, run_id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class HumanFormatter(logging.Formatter):
    """``HH:MM:SS level message key=value ...`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD and k != "run_id" and not k.startswith("_")
        )
        text = f"{when} {record.levelname.lower():7} {record.getMessage()}"
        return f"{text}  {extras}" if extras else text


def configure_logging(
    run_id: str,
    fmt: str = "human",
    verbose: bool = False,
    secrets: list[Secret] | None = None,
    quiet: bool = False,
) -> None:
    """Send costscope's logs to stderr in ``fmt``, tagged with ``run_id``.

    A terminal sees warnings (retries, say) unless ``quiet``; what failed is not logged there but
    printed once by the command itself. JSON logs keep every event from ``info`` on.
    """
    logger = logging.getLogger("costscope")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else HumanFormatter())
    handler.addFilter(_Context(run_id, secrets or []))
    logger.addHandler(handler)
    level = (
        logging.DEBUG
        if verbose
        else logging.INFO
        if fmt == "json"
        else logging.ERROR
        if quiet
        else logging.WARNING
    )
    logger.setLevel(level)
    logger.propagate = False


class StageTimer:
    """Wall time per stage of a run (collect, analyze, report ...), in seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block and add it to ``name``'s total."""
        log = logging.getLogger("costscope.run")
        started = time.perf_counter()
        log.debug("stage %s started", name, extra={"stage": name})
        try:
            yield
        finally:
            took = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + took
            log.info("stage %s took %.3fs", name, took, extra={"stage": name, "seconds": round(took, 4)})
