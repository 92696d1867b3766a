"""Tallying OpenTelemetry attributes as they stream by: bytes, items and values per key.

Log records are not kept one by one (they fold into templates), and a resource's attributes are
not kept on the spans they describe, yet both are what a vendor bills: each exported record or
span carries its own attributes and a copy of its resource's. Readers hand them over as
``attr_pairs`` / ``resource_pairs`` columns (lists of ``{key, value}``, one list per record or
span); the writer folds them into one row per (scope, key) here and stores those
(``otel_attributes``). Distinct values are counted exactly up to ``VALUE_CAP`` per key: past it a
key is unbounded for every purpose (it is flagged ``values_capped``).
"""

from __future__ import annotations

import polars as pl

HASHED_CHARS = 16  # the collector's attributes processor `hash` writes a hex digest; 16 is a floor
TRUNCATE_AT = 256
OVERHEAD = 8  # quotes, colon, comma: what each pair adds around its key and value in OTLP JSON
VALUE_CAP = 10_000
TALLY_ROWS = 50_000  # items gathered before one tally: a tap's small requests pay polars' overhead once
PAIR_COLUMNS = {"attr_pairs": "record", "resource_pairs": "resource"}  # column → scope


class AttributeTally:
    """Per (scope, key): items, bytes, longest value, hash and truncate savings, distinct values."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str], list[float]] = {}  # items, bytes, max_chars, hash, truncate
        self._values: dict[tuple[str, str], set[int]] = {}
        self._pending: dict[str, list[pl.DataFrame]] = {}
        self._pending_rows = 0

    def add(self, frame: pl.DataFrame, weight: str) -> pl.DataFrame:
        """Tally the pair columns of ``frame`` (each item weighing ``weight``); return it without them."""
        present = [c for c in PAIR_COLUMNS if c in frame.columns]
        for column in present:
            part = frame.select(pl.col(weight).cast(pl.Float64).alias("w"), pl.col(column).alias("p"))
            self._pending.setdefault(PAIR_COLUMNS[column], []).append(part)
        if present:
            self._pending_rows += frame.height
            if self._pending_rows >= TALLY_ROWS:
                self.flush()
        return frame.drop(present)

    def flush(self) -> None:
        """Tally what was gathered."""
        for scope, parts in self._pending.items():
            self._tally(pl.concat(parts), scope)
        self._pending, self._pending_rows = {}, 0

    def _tally(self, items: pl.DataFrame, scope: str) -> None:
        if scope == "resource":  # every span of a resource carries the same list: weigh each list once
            items = items.group_by("p").agg(pl.col("w").sum())
        pairs = items.explode("p").drop_nulls("p").unnest("p")
        if not pairs.height:
            return
        chars = pl.col("value").str.len_chars().cast(pl.Int64)  # unsigned: a subtraction below would wrap
        agg = pairs.group_by("key").agg(
            pl.col("w").sum().alias("items"),
            (pl.col("w") * (pl.col("key").str.len_chars() + chars + OVERHEAD)).sum().alias("bytes"),
            chars.max().alias("max_chars"),
            (pl.col("w") * (chars - HASHED_CHARS).clip(lower_bound=0)).sum().alias("hash_saves"),
            (pl.col("w") * (chars - TRUNCATE_AT).clip(lower_bound=0)).sum().alias("truncate_saves"),
            pl.col("value").hash().unique().head(VALUE_CAP).alias("hashes"),
        )
        for key, n, size, longest, hashed, cut, hashes in agg.iter_rows():
            sums = self._sums.setdefault((scope, key), [0.0, 0.0, 0.0, 0.0, 0.0])
            sums[0] += n
            sums[1] += size
            sums[2] = max(sums[2], longest or 0)
            sums[3] += hashed
            sums[4] += cut
            seen = self._values.setdefault((scope, key), set())
            if len(seen) < VALUE_CAP:
                seen.update(hashes[: VALUE_CAP - len(seen)])

    def rows(self, signal: str, period_s: float | None) -> pl.DataFrame:
        """One ``otel_attributes`` row per (scope, key) tallied (without snapshot and source)."""
        self.flush()
        keys = list(self._sums)
        return pl.DataFrame(
            {
                "signal": [signal] * len(keys),
                "scope": [s for s, _ in keys],
                "key": [k for _, k in keys],
                "items": [self._sums[k][0] for k in keys],
                "bytes": [self._sums[k][1] for k in keys],
                "value_count": [len(self._values[k]) for k in keys],
                "values_capped": [len(self._values[k]) >= VALUE_CAP for k in keys],
                "max_chars": [int(self._sums[k][2]) for k in keys],
                "hash_saves": [self._sums[k][3] for k in keys],
                "truncate_saves": [self._sums[k][4] for k in keys],
                "period_s": [period_s] * len(keys),
            },
            schema={"signal": pl.String, "scope": pl.String, "key": pl.String, "items": pl.Float64,
                    "bytes": pl.Float64, "value_count": pl.Int64, "values_capped": pl.Boolean,
                    "max_chars": pl.Int64, "hash_saves": pl.Float64, "truncate_saves": pl.Float64,
                    "period_s": pl.Float64},
        )  # fmt: skip
