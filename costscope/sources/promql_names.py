"""The metric names an expression mentions, read without parsing it: for expressions the parser refuses.

A query the PromQL parser refuses still reads metrics: MetricsQL (VictoriaMetrics'
``histogram_share``, ranges on any expression), a function newer than the parser, a macro nobody
replaced. Dropping a metric such a query reads would break it, so the names it mentions count as
read (with every label, since which labels it needs is unknown). The names are the identifiers
left once strings, label matchers, ranges, grouping clauses and function calls are taken out;
a name that is no metric of the snapshot matches nothing.
"""

from __future__ import annotations

import re

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', re.S)
_BRACES = re.compile(r"\{[^{}]*\}")  # label matchers, and templates such as Sloth's {{.window}}
_BRACKETS = re.compile(r"\[[^\[\]]*\]")  # ranges and subqueries
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.I)
# not after a character a name can't follow ($ of a variable, . of a number), not a function call
_NAME = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_WORDS = frozenset(
    ("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
     "group_right", "inf", "nan", "atan2", "start", "end")
)  # fmt: skip


def _without(pattern: re.Pattern[str], text: str) -> str:
    """``text`` with every match of ``pattern`` replaced by a blank, innermost first."""
    while True:
        stripped = pattern.sub(" ", text)
        if stripped == text:
            return text
        text = stripped


def mentioned_names(expr: str) -> list[str]:
    """Identifiers in ``expr`` that may be metric names, in order of first mention."""
    text = _STRINGS.sub(" ", expr)
    for pattern in (_BRACES, _BRACKETS, _GROUPING):
        text = _without(pattern, text)
    names = (m.group(1) for m in _NAME.finditer(text))
    return list(dict.fromkeys(n for n in names if n.lower() not in _WORDS))
