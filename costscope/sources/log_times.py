"""When a plain log line says it was written: the time at its head, in the forms most lines use.

JSON and logfmt lines name their time (``ts``, ``time``, ``@timestamp`` …); a plain line only
writes it. Without it a file is taken to hold one day, and the per-month figures follow that
guess (an access log of three and a half days would cost 3.5 times too much). Read here:

- ISO 8601 at the head of the line, optionally in brackets, with ``T`` or a blank between date
  and time, a fraction after ``.`` or ``,`` (log4j, Python logging), and a zone (``Z``, ``+02:00``);
  a time without a zone is taken as UTC;
- the Common Log Format's ``[17/May/2015:10:05:03 +0000]`` (Apache, nginx access logs);
- C's ctime in brackets at the head, ``[Sun Dec 04 04:47:44 2005]`` (Apache's error log), taken as UTC.

Forms without a year (syslog's ``Nov 25 10:00:00``) or with a guessable order of day and month
(``17/06/09``) are left alone: a wrong guess is worse than the one-day default, which says so.
"""

from __future__ import annotations

import re

import polars as pl

_ISO_HEAD = re.compile(
    r"^(\s*\[?)\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}:\d{2}(?:([.,])(\d{1,9}))?(Z|[+-]\d{2}:\d{2}|[+-]\d{4})?"
    r"(?=[\]\s,|]|$)"
)
_CLF = re.compile(r"\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")
# C's ctime in brackets, as Apache's error log writes it (2.4 adds microseconds)
_CTIME = re.compile(r"^\[([A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2})(\.\d{1,9})? (\d{4})\]")


def _iso(line: pl.Expr, head: re.Match[str]) -> pl.Expr:
    """The stamp where ``head`` (a line of the file) has it, read in the form it has there."""
    lead, sep, point, digits, zone = head.groups()
    fmt = f"%Y-%m-%d{sep}%H:%M:%S"
    if digits:
        fmt += f"{point}%{len(digits)}f"
    if zone == "Z":
        fmt += "Z"
    elif zone:
        fmt += "%:z" if ":" in zone else "%z"
    stamp = line.str.slice(len(lead), head.end() - len(lead))
    return stamp.str.to_datetime(fmt, time_zone="UTC", strict=False)


def _clf(line: pl.Expr) -> pl.Expr:
    stamp = line.str.extract(_CLF.pattern, 1)
    return stamp.str.to_datetime("%d/%b/%Y:%H:%M:%S %z", time_zone="UTC", strict=False)


def _ctime(line: pl.Expr, head: re.Match[str]) -> pl.Expr:
    fraction = f"%.{len(head.group(2)) - 1}f" if head.group(2) else ""
    stamp = line.str.slice(1, head.end() - 2)
    return stamp.str.to_datetime(f"%a %b %d %H:%M:%S{fraction} %Y", time_zone="UTC", strict=False)


def line_seconds(line: pl.Expr, sample: str) -> pl.Expr:
    """Epoch seconds a plain line writes (ISO 8601 or ctime at its head, or CLF brackets); else null.

    The lines of one file share a form: ``sample`` (a line of them) picks it and where the stamp
    sits, so each line pays for one slice and one strict read, not a search.
    """
    if head := _ISO_HEAD.match(sample):
        stamp = _iso(line, head)
    elif _CLF.search(sample):
        stamp = _clf(line)
    elif head := _CTIME.match(sample):
        stamp = _ctime(line, head)
    else:
        return pl.lit(None, pl.Float64)
    return stamp.dt.epoch("ms").cast(pl.Float64) / 1e3
