"""What a PromQL expression reads: every metric it selects and, per metric, the labels it needs.

The expression is parsed with ``promql-parser`` (Prometheus' own grammar). The walk carries the
labels the *consumer* of each sub-expression depends on, top-down:

- the top of a dashboard query, an alert or a recording rule needs every label of its result
  (legends, alert identity and recorded series are all keyed by them);
- ``sum by (a)`` needs only ``a`` below it; ``sum without (a)`` needs everything but ``a``;
  ``topk``/``bottomk``/``limitk`` keep the input's labels, so they add their grouping;
- vector matching: ``on (l)`` needs ``l`` from both sides (plus ``group_left/right`` labels from
  the "one" side); ``ignoring``, or no modifier, matches on every label, so both sides need all;
- ``label_replace``/``label_join`` need their source labels, ``histogram_quantile`` needs ``le``,
  ``sort_by_label`` its labels, ``absent`` only its matchers;
- every selector needs the labels of its own matchers; the ``le`` values it pins by name
  (``le="0.5"``, ``le=~"0.5|1"``) are kept too: cutting those buckets would break it.

A metric selected by a regex on ``__name__`` is kept as a pattern and resolved later against the
metrics a snapshot holds. Grafana variables and macros (``$__rate_interval``, ``${var}``,
``[[var]]``) are replaced before parsing by a duration, a number or a placeholder name that the
walk understands (a label only known at run time means "all labels").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import promql_parser as pp

from costscope.errors import ParseError

PLACEHOLDER = "__csvar{}__"
# a selector of every series there is (``{__name__=~".+"}``): it reads no metric in particular
EVERY_SERIES = "every_series"
_PLACEHOLDER_RE = re.compile(r"__csvar\d+__")
# $__rate_interval, ${var}, ${var:csv}, $var, [[var]] (the last is Grafana's legacy syntax)
_VARIABLE_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
_GROUPING_WORDS = ("by", "without", "on", "ignoring", "group_left", "group_right")
_KEEP_INPUT_LABELS = ("topk", "bottomk", "limitk", "limit_ratio")


@dataclass(frozen=True)
class LabelNeed:
    """The labels something depends on: exactly ``labels``, or (``every``) all but ``labels``."""

    every: bool
    labels: frozenset[str] = frozenset()

    def union(self, other: LabelNeed) -> LabelNeed:
        """What two consumers need together."""
        if not self.every and not other.every:
            return LabelNeed(False, self.labels | other.labels)
        if self.every and other.every:
            return LabelNeed(True, self.labels & other.labels)
        every, only = (self, other) if self.every else (other, self)
        return LabelNeed(True, every.labels - only.labels)

    def plus(self, labels: Iterable[str]) -> LabelNeed:
        """This need and ``labels`` besides."""
        return self.union(LabelNeed(False, frozenset(labels)))

    def needs(self, label: str) -> bool:
        """Whether dropping ``label`` would change the result."""
        return (label not in self.labels) if self.every else (label in self.labels)

    def normalized(self) -> LabelNeed:
        """A placeholder label (known only at run time) could be any label: need them all."""
        if any(_PLACEHOLDER_RE.fullmatch(lb) for lb in self.labels):
            if self.every:
                return LabelNeed(
                    True, frozenset(lb for lb in self.labels if not _PLACEHOLDER_RE.fullmatch(lb))
                )
            return ALL
        return self


ALL = LabelNeed(True)
NONE = LabelNeed(False)


@dataclass(frozen=True)
class MetricRef:
    """One metric an expression reads: a name, or a pattern (``match`` says which) and its labels."""

    metric: str
    match: str  # exact | regex | not_exact | not_regex | any | every_series
    need: LabelNeed
    matchers: tuple[str, ...] = ()  # label names this selector filters on
    bounds: tuple[str, ...] = ()  # ``le`` values it selects by name (bucket bounds it reads)


@dataclass
class _Walk:
    refs: list[MetricRef] = field(default_factory=list)

    def visit(self, node: pp.Expr, need: LabelNeed) -> None:
        if isinstance(node, pp.VectorSelector):
            self.selector(node, need)
        elif isinstance(node, pp.MatrixSelector):
            self.selector(node.vector_selector, need)
        elif isinstance(node, pp.SubqueryExpr | pp.ParenExpr | pp.UnaryExpr):
            self.visit(node.expr, need)
        elif isinstance(node, pp.AggregateExpr):
            self.aggregate(node, need)
        elif isinstance(node, pp.BinaryExpr):
            self.binary(node, need)
        elif isinstance(node, pp.Call):
            self.call(node, need)
        # number and string literals read nothing

    def aggregate(self, node: pp.AggregateExpr, need: LabelNeed) -> None:
        modifier = node.modifier
        if modifier is None:
            grouping = NONE
        elif modifier.type == pp.AggModifierType.By:
            grouping = LabelNeed(False, frozenset(modifier.labels))
        else:
            grouping = LabelNeed(True, frozenset(modifier.labels))
        op = str(node.op).lower()
        inner = grouping.union(need) if op in _KEEP_INPUT_LABELS else grouping
        self.visit(node.expr, inner.normalized())
        if node.param is not None:
            self.visit(node.param, NONE)

    def binary(self, node: pp.BinaryExpr, need: LabelNeed) -> None:
        lhs_scalar = _is_scalar(node.lhs)
        rhs_scalar = _is_scalar(node.rhs)
        if lhs_scalar or rhs_scalar:  # vector op scalar: labels pass through
            self.visit(node.lhs, NONE if lhs_scalar else need)
            self.visit(node.rhs, NONE if rhs_scalar else need)
            return
        modifier = node.modifier
        matching = modifier.matching if modifier is not None else None
        if matching is None or matching.type == pp.LabelModifierType.Exclude:
            lhs = rhs = ALL.plus([]) if matching is None else LabelNeed(True, frozenset(matching.labels))
            self.visit(node.lhs, lhs.normalized())
            self.visit(node.rhs, rhs.normalized())
            return
        on = frozenset(matching.labels)
        card = modifier.card if modifier is not None else None
        extra = (
            frozenset(modifier.group_labels)
            if modifier is not None and modifier.group_labels
            else frozenset()
        )
        if card == pp.VectorMatchCardinality.ManyToOne:  # group_left: lhs keeps its labels
            lhs_need, rhs_need = need.plus(on), LabelNeed(False, on | extra)
        elif card == pp.VectorMatchCardinality.OneToMany:
            lhs_need, rhs_need = LabelNeed(False, on | extra), need.plus(on)
        elif str(node.op).lower() in ("and", "or", "unless"):
            lhs_need, rhs_need = (
                need.plus(on),
                (need.plus(on) if str(node.op).lower() == "or" else NONE.plus(on)),
            )
        else:  # one-to-one with on(): the result keeps only the on() labels
            lhs_need = rhs_need = LabelNeed(False, on)
        self.visit(node.lhs, lhs_need.normalized())
        self.visit(node.rhs, rhs_need.normalized())

    def call(self, node: pp.Call, need: LabelNeed) -> None:
        name = node.func.name
        args = list(node.args)
        strings = [a.val for a in args if isinstance(a, pp.StringLiteral)]
        if name == "label_replace" and len(strings) >= 4:
            inner = need.plus([strings[2]])
        elif name == "label_join" and len(strings) >= 2:
            inner = need.plus(strings[2:])
        elif name == "histogram_quantile" or name == "histogram_fraction":
            inner = need.plus(["le"])
        elif name in ("sort_by_label", "sort_by_label_desc"):
            inner = need.plus(strings)
        elif name in ("absent", "absent_over_time", "scalar"):
            # absent: only whether anything matches; scalar: one series or none
            inner = NONE if name != "scalar" else ALL
        else:
            inner = need
        for arg in args:
            if isinstance(arg, pp.StringLiteral | pp.NumberLiteral):
                continue
            self.visit(arg, NONE if _is_scalar(arg) and name not in ("vector",) else inner.normalized())

    def selector(self, node: pp.VectorSelector, need: LabelNeed) -> None:
        groups = [list(node.matchers.matchers)]
        if node.matchers.or_matchers:
            groups = [list(g) for g in node.matchers.or_matchers]
        for matchers in groups:
            names = [m for m in matchers if m.name == "__name__"]
            others = tuple(sorted({m.name for m in matchers if m.name != "__name__"}))
            full = need.plus(others).normalized()
            bounds = _pinned_bounds(matchers)
            if node.name:
                self.refs.append(MetricRef(*_name_ref(node.name), full, others, bounds))
            elif names and not all(_names_anything(m) for m in names):
                for m in names:
                    self.refs.append(MetricRef(*_matcher_ref(m), full, others, bounds))
            elif others:  # no metric named (or `__name__=~".+"`): the metrics that carry its labels
                self.refs.append(MetricRef("", "any", full, others, bounds))
            else:  # every series there is: a count of them, a listing, nothing about one metric
                self.refs.append(MetricRef("", EVERY_SERIES, full, others, bounds))


_LITERAL_ALTERNATION_RE = re.compile(r"^(?:[-+\w.]|\\.)+(?:\|(?:[-+\w.]|\\.)+)*$")


def _pinned_bounds(matchers: list[pp.Matcher]) -> tuple[str, ...]:
    """The ``le`` values matchers select by name: ``le="0.5"``, or a regex of literal alternatives."""
    bounds: list[str] = []
    for m in matchers:
        op = str(m.op).rsplit(".", 1)[-1]
        if m.name != "le" or _VARIABLE_RE.search(m.value) or _PLACEHOLDER_RE.search(m.value):
            continue
        if op == "Equal":
            bounds.append(m.value)
        elif op == "Re" and _LITERAL_ALTERNATION_RE.match(m.value):
            bounds += [re.sub(r"\\(.)", r"\1", v) for v in m.value.split("|")]
    return tuple(sorted(set(bounds)))


def _names_anything(m: pp.Matcher) -> bool:
    """Whether a ``__name__`` matcher, as written, lets every name through (``=~".+"``, ``!=""``)."""
    op = str(m.op).rsplit(".", 1)[-1]
    if op == "Re":
        return m.value in (".+", ".*", ".+?", ".*?")
    return op in ("NotEqual", "NotRe") and m.value == ""


def _name_ref(name: str) -> tuple[str, str]:
    if _PLACEHOLDER_RE.search(name):
        return _PLACEHOLDER_RE.sub(".*", re.escape(name).replace(r"\_", "_")), "regex"
    return name, "exact"


def _matcher_ref(m: pp.Matcher) -> tuple[str, str]:
    value, op = m.value, str(m.op).rsplit(".", 1)[-1]
    negated = op.startswith("Not")
    if _VARIABLE_RE.search(value) or _PLACEHOLDER_RE.search(value):
        escaped = value if op.endswith("Re") else re.escape(value)
        pattern = _PLACEHOLDER_RE.sub(".*", _VARIABLE_RE.sub(".*", escaped))
        return pattern, "not_regex" if negated else "regex"
    kind = "regex" if op.endswith("Re") else "exact"
    return value, f"not_{kind}" if negated else kind


def _is_scalar(node: pp.Expr) -> bool:
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return _is_scalar(node.expr)
    if isinstance(node, pp.Call):
        return node.func.name in ("scalar", "time", "pi") or str(node.func.return_type).endswith("Scalar")
    if isinstance(node, pp.BinaryExpr):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _split_strings(expr: str) -> Iterator[tuple[bool, str]]:
    """The expression as (is_string_literal, text) pieces; quotes and escapes respected."""
    i, start, n = 0, 0, len(expr)
    while i < n:
        c = expr[i]
        if c == "#":  # a comment runs to the end of the line
            j = expr.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'`":
            if start < i:
                yield False, expr[start:i]
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            yield True, expr[i : j + 1]
            i = start = j + 1
            continue
        i += 1
    if start < n:
        yield False, expr[start:]


def _replacement(before: str, after: str, index: int) -> str:
    """What a variable becomes, from where it stands: a duration, a label or metric name, a number."""
    before = before.rstrip()
    if before.endswith(("[", ":")) or re.search(r"(\boffset|@)$", before):
        return "5m"
    if re.match(r"[\w{]", after) or re.search(r"\w$", before):
        return PLACEHOLDER.format(index)  # part of a metric name
    depth = 0
    for k in range(len(before) - 1, -1, -1):  # the innermost open parenthesis: a grouping list?
        if before[k] == ")":
            depth += 1
        elif before[k] == "(":
            if depth == 0:
                word = re.search(r"(\w+)\s*$", before[:k])
                if word and word.group(1) in _GROUPING_WORDS:
                    return PLACEHOLDER.format(index)
                break
            depth -= 1
    return "1"


def substitute_variables(expr: str) -> str:
    """``expr`` with Grafana variables and macros replaced so that it parses as PromQL."""
    if "$" not in expr and "[[" not in expr:
        return expr
    out = ""
    count = 0
    for is_string, piece in _split_strings(expr):
        if is_string:
            out += piece
            continue
        last = 0
        for m in _VARIABLE_RE.finditer(piece):
            out += piece[last : m.start()]
            out += _replacement(out, piece[m.end() :], count)
            last = m.end()
            count += 1
        out += piece[last:]
    return out


def parse(expr: str) -> pp.Expr:
    """Parse ``expr`` (Grafana variables allowed); a ParseError names what the parser said."""
    try:
        return pp.parse(substitute_variables(expr))
    except (ValueError, TypeError) as exc:
        raise ParseError(str(exc).splitlines()[0] if str(exc) else "invalid PromQL") from exc


def metric_refs(expr: str, need: LabelNeed = ALL) -> list[MetricRef]:
    """The metrics ``expr`` reads, each with the labels the result depends on."""
    walk = _Walk()
    walk.visit(parse(expr), need)
    return walk.refs
