"""The DuckDB schema, as an ordered list of migrations applied in code.

``MIGRATIONS[i]`` brings a database from version ``i`` to ``i + 1``. A released migration is
never edited: a change is a new migration appended at the end. Every per-signal table carries
``snapshot_id`` so that runs compare over time and a snapshot can be pruned as a whole.

Tables by signal (the place each later capability writes to):

- run bookkeeping: ``snapshots``, ``snapshot_sources``, ``source_errors``
- metrics: ``metric_meta`` (one row per metric: type, help, unit, series, samples),
  ``metric_series`` (one row per series), ``series_labels`` (one row per series × label),
  ``scrape_stats`` (samples per job/target for DPM pricing)
- usage: ``usage_refs`` (which dashboard/rule/SLO/query uses which metric and labels),
  ``usage_problems`` (expressions that could not be read, and why), ``query_windows`` (the
  time each query log covers)
- logs: ``log_volume`` (bytes/lines per stream, service, level), ``log_templates``
- traces: ``trace_operations`` (span/trace rates per service and operation), ``spans``
- OpenTelemetry attributes of log records and of the resources of logs and spans:
  ``otel_attributes`` (span attributes are counted from ``spans``)
- findings: ``recommendations`` (findings are data, written back like any other result)
- trends: ``snapshot_costs`` (each snapshot's cost per signal and dimension, for comparisons)
- metrics counted by the backend (``collect: counts``): ``counted_series``, ``counted_groups``,
  ``counted_labels``, ``counted_keep_sets``, ``counted_points``, ``counted_pairs``,
  ``counted_label_values`` and ``count_runs`` (what it asked of the backend)
"""

from __future__ import annotations

from typing import NamedTuple

# A series' family as one integer, on its labels too, so that label economics group and join by
# it without joining millions of label rows to their series. It is DuckDB's hash of the name,
# given at insert (ingest.metrics) and here alike: one function, whatever wrote the rows. This
# fills the rows that have none (a migration's, or an import's: an export's keys may come from
# another version).
FAMILY_IDS = """
UPDATE metric_series SET family_id = hash(family) WHERE family_id IS NULL;
UPDATE series_labels l SET family_id = m.family_id
FROM metric_series m
WHERE l.family_id IS NULL
  AND m.snapshot_id = l.snapshot_id AND m.source = l.source AND m.series_id = l.series_id;
"""


class Migration(NamedTuple):
    """One schema step: its number, what it does, and the SQL that does it."""

    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "snapshots, errors, metrics, usage, logs, traces, recommendations",
        """
        CREATE SEQUENCE snapshot_id_seq START 1;
        CREATE TABLE snapshots (
            id                INTEGER PRIMARY KEY DEFAULT nextval('snapshot_id_seq'),
            run_id            VARCHAR NOT NULL,
            started_at        TIMESTAMPTZ NOT NULL,
            finished_at       TIMESTAMPTZ,
            status            VARCHAR NOT NULL
                              CHECK (status IN ('running', 'complete', 'partial', 'failed')),
            costscope_version VARCHAR NOT NULL,
            sources           JSON NOT NULL,      -- [{name, kind, location}], URLs redacted
            error_count       INTEGER NOT NULL DEFAULT 0,
            stage_timings     JSON,               -- {stage: seconds}
            pricing           VARCHAR,            -- CostModel.describe() of the run
            note              VARCHAR
        );
        CREATE TABLE snapshot_sources (
            snapshot_id   INTEGER NOT NULL,
            source        VARCHAR NOT NULL,
            kind          VARCHAR NOT NULL,
            location      VARCHAR NOT NULL,       -- URL without credentials, or a path
            flavour       VARCHAR,                -- prometheus, victoriametrics, exposition, ...
            version       VARCHAR,
            status        VARCHAR NOT NULL CHECK (status IN ('complete', 'partial', 'failed')),
            series        BIGINT NOT NULL DEFAULT 0,
            skipped_lines BIGINT NOT NULL DEFAULT 0,
            seconds       DOUBLE
        );
        CREATE TABLE source_errors (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            location    VARCHAR,
            stage       VARCHAR NOT NULL,
            message     VARCHAR NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE metric_meta (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            metric      VARCHAR NOT NULL,         -- family name (histogram base name)
            type        VARCHAR,                  -- counter, gauge, histogram, summary, ...
            help        VARCHAR,
            unit        VARCHAR,
            series      BIGINT NOT NULL           -- as counted by the source
        );
        CREATE TABLE metric_series (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            metric      VARCHAR NOT NULL,         -- sample name (e.g. x_bucket)
            family      VARCHAR NOT NULL,         -- metric family (e.g. x)
            series_id   UBIGINT NOT NULL          -- xor of pair_hash over __name__ and labels
        );
        CREATE TABLE series_labels (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            series_id   UBIGINT NOT NULL,         -- joins metric_series (metric via there)
            label       VARCHAR NOT NULL,
            value       VARCHAR NOT NULL,
            pair_hash   UBIGINT NOT NULL          -- hash of 'label=value'; series_id is their xor
        );
        CREATE TABLE scrape_stats (
            snapshot_id     INTEGER NOT NULL,
            source          VARCHAR NOT NULL,
            job             VARCHAR,
            instance        VARCHAR,
            samples_scraped DOUBLE,
            series_added    DOUBLE,
            interval_s      DOUBLE
        );
        CREATE TABLE usage_refs (
            snapshot_id INTEGER NOT NULL,
            metric      VARCHAR NOT NULL,
            labels      VARCHAR[],                -- labels the expression depends on
            kind        VARCHAR NOT NULL,         -- dashboard, alert, recording_rule, slo
            name        VARCHAR NOT NULL,         -- dashboard/panel title, rule or SLO name
            origin      VARCHAR,                  -- file or URL it came from
            expr        VARCHAR
        );
        CREATE TABLE log_volume (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            stream      VARCHAR,                  -- label set, as LogQL selector text
            service     VARCHAR,
            level       VARCHAR,
            lines       BIGINT NOT NULL,
            bytes       BIGINT NOT NULL
        );
        CREATE TABLE log_templates (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            template_id VARCHAR NOT NULL,
            template    VARCHAR NOT NULL,
            level       VARCHAR,
            services    VARCHAR[],
            lines       BIGINT NOT NULL,
            bytes       BIGINT NOT NULL,
            example     VARCHAR,
            first_seen  TIMESTAMPTZ,
            last_seen   TIMESTAMPTZ
        );
        CREATE TABLE trace_operations (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            service     VARCHAR NOT NULL,
            operation   VARCHAR NOT NULL,
            spans       DOUBLE NOT NULL,          -- re-weighted by the sampling rate seen
            traces      DOUBLE NOT NULL,
            bytes       DOUBLE NOT NULL,
            error_spans DOUBLE NOT NULL DEFAULT 0
        );
        CREATE TABLE spans (
            snapshot_id    INTEGER NOT NULL,
            source         VARCHAR NOT NULL,
            trace_id       VARCHAR NOT NULL,
            span_id        VARCHAR NOT NULL,
            parent_span_id VARCHAR,
            service        VARCHAR,
            operation      VARCHAR,
            kind           VARCHAR,
            status         VARCHAR,
            start_unix_ns  BIGINT,
            duration_ns    BIGINT,
            attributes     INTEGER,
            approx_bytes   INTEGER,
            sample_weight  DOUBLE NOT NULL DEFAULT 1
        );
        CREATE TABLE recommendations (
            snapshot_id     INTEGER NOT NULL,
            rank            INTEGER NOT NULL,
            kind            VARCHAR NOT NULL,     -- drop_metric, drop_label, aggregate, ...
            target          VARCHAR NOT NULL,
            monthly_savings DOUBLE NOT NULL,
            series_saved    BIGINT,
            risk            VARCHAR NOT NULL,     -- what it would break; 'none known' if unused
            evidence        VARCHAR NOT NULL,
            config          VARCHAR NOT NULL,     -- paste-able relabel/collector config
            cost_model      VARCHAR NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "usage: source, how the metric is matched, labels needed as a set or all-but; problems",
        """
        ALTER TABLE usage_refs ADD COLUMN source VARCHAR;
        -- exact | regex | not_exact | not_regex | any (a selector without a metric name)
        ALTER TABLE usage_refs ADD COLUMN name_match VARCHAR DEFAULT 'exact';
        -- true: the expression needs every label except those in ``labels``
        ALTER TABLE usage_refs ADD COLUMN all_labels BOOLEAN DEFAULT false;
        ALTER TABLE usage_refs ADD COLUMN matchers VARCHAR[];   -- labels it filters on
        ALTER TABLE usage_refs ADD COLUMN panel VARCHAR;        -- panel, variable or rule group
        CREATE TABLE usage_problems (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,     -- dashboard, alert, recording_rule, slo
            name        VARCHAR NOT NULL,
            panel       VARCHAR,
            origin      VARCHAR,
            expr        VARCHAR,
            problem     VARCHAR NOT NULL,     -- parse_error | not_promql | unresolved
            message     VARCHAR NOT NULL
        );
        ALTER TABLE recommendations ADD COLUMN risk_level VARCHAR DEFAULT 'unknown';
        """,
    ),
    Migration(
        3,
        "logs: the period counts cover, error and trace-carrying lines, oversized bytes",
        """
        ALTER TABLE log_volume ADD COLUMN period_s DOUBLE;          -- seconds the counts cover
        ALTER TABLE log_volume ADD COLUMN error_lines BIGINT DEFAULT 0;
        ALTER TABLE log_templates ADD COLUMN period_s DOUBLE;
        ALTER TABLE log_templates ADD COLUMN error_lines BIGINT DEFAULT 0;   -- ERROR or FATAL
        ALTER TABLE log_templates ADD COLUMN trace_lines BIGINT DEFAULT 0;   -- carrying a trace id
        ALTER TABLE log_templates ADD COLUMN max_line_bytes BIGINT;
        ALTER TABLE log_templates ADD COLUMN oversize_bytes BIGINT DEFAULT 0; -- beyond TRUNCATE_BYTES
        ALTER TABLE log_templates ADD COLUMN sampled BOOLEAN DEFAULT false;  -- counts scaled from a sample
        """,
    ),
    Migration(
        4,
        "traces: span attributes for attribute policies, the period counts cover",
        """
        ALTER TABLE spans ADD COLUMN attrs VARCHAR;                 -- JSON object of the span's attributes
        ALTER TABLE trace_operations ADD COLUMN period_s DOUBLE;     -- seconds the counts cover
        ALTER TABLE trace_operations ADD COLUMN p50_ms DOUBLE;
        ALTER TABLE trace_operations ADD COLUMN p99_ms DOUBLE;
        """,
    ),
    Migration(
        5,
        "trends: what each snapshot cost, per signal and dimension, kept for comparisons over time",
        """
        CREATE TABLE snapshot_costs (
            snapshot_id  INTEGER NOT NULL,
            signal       VARCHAR NOT NULL,   -- metrics | logs | traces
            dimension    VARCHAR NOT NULL,   -- total | metric | team | label | template | service
            key          VARCHAR NOT NULL,
            volume       DOUBLE NOT NULL,    -- series, bytes a month, spans a month, label values
            monthly_cost DOUBLE NOT NULL
        );
        """,
    ),
    Migration(
        6,
        "usage: the histogram bucket bounds an expression selects by name",
        """
        ALTER TABLE usage_refs ADD COLUMN bounds VARCHAR[];   -- le values it pins (le="0.5")
        """,
    ),
    Migration(
        7,
        "source errors: warnings (a file not recognised, or yielding nothing) beside errors",
        """
        ALTER TABLE source_errors ADD COLUMN severity VARCHAR DEFAULT 'error';  -- error | warning
        """,
    ),
    Migration(
        8,
        "usage from query logs: how often each query ran, by whom, when; the window each log covers;"
        " the temporality of OTLP metrics",
        """
        ALTER TABLE metric_meta ADD COLUMN temporality VARCHAR;  -- OTLP: delta | cumulative; null elsewhere
        ALTER TABLE usage_refs ADD COLUMN uses BIGINT;         -- times the query ran (query logs only)
        ALTER TABLE usage_refs ADD COLUMN clients VARCHAR[];   -- distinct queriers (user agent, client, user)
        ALTER TABLE usage_refs ADD COLUMN first_at DOUBLE;     -- unix seconds of its first and last run
        ALTER TABLE usage_refs ADD COLUMN last_at DOUBLE;
        CREATE TABLE query_windows (
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            origin      VARCHAR NOT NULL,   -- file or URL
            format      VARCHAR NOT NULL,   -- prometheus | mimir | loki | victoriametrics | grafana
            entries     BIGINT NOT NULL,    -- queries read (every run, rule evaluations included)
            skipped     BIGINT NOT NULL,    -- lines that were not query entries
            first_at    DOUBLE,             -- the time the log covers, unix seconds
            last_at     DOUBLE
        );
        """,
    ),
    Migration(
        9,
        "metrics counted inside the backend with PromQL (collect: counts), what that asked of it;"
        " what each action changes",
        """
        CREATE TABLE counted_series (        -- series per sample name
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            metric      VARCHAR NOT NULL,
            family      VARCHAR NOT NULL,
            series      BIGINT NOT NULL
        );
        CREATE TABLE counted_groups (        -- series per job and ownership-rule label values
            snapshot_id  INTEGER NOT NULL,
            source       VARCHAR NOT NULL,
            family       VARCHAR NOT NULL,
            group_labels VARCHAR[] NOT NULL,
            group_values VARCHAR[] NOT NULL,  -- '' where a series lacks the label
            series       BIGINT NOT NULL
        );
        CREATE TABLE counted_labels (        -- per family x label
            snapshot_id  INTEGER NOT NULL,
            source       VARCHAR NOT NULL,
            family       VARCHAR NOT NULL,
            label        VARCHAR NOT NULL,
            label_values BIGINT NOT NULL,
            carriers     BIGINT NOT NULL,     -- series that carry the label
            series_after BIGINT,              -- series left without it; null: not counted
            coverage     VARCHAR NOT NULL     -- exact | cardinality_only
        );
        CREATE TABLE counted_keep_sets (     -- series left when several labels go at once
            snapshot_id  INTEGER NOT NULL,
            source       VARCHAR NOT NULL,
            family       VARCHAR NOT NULL,
            dropped      VARCHAR[] NOT NULL,  -- sorted
            series_after BIGINT NOT NULL
        );
        CREATE TABLE counted_points (        -- histogram buckets (le) and summary quantiles
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            family      VARCHAR NOT NULL,
            point       VARCHAR NOT NULL,
            series      BIGINT NOT NULL
        );
        CREATE TABLE counted_pairs (         -- the values carried by most series, per family x label
            snapshot_id INTEGER NOT NULL,
            source      VARCHAR NOT NULL,
            family      VARCHAR NOT NULL,
            label       VARCHAR NOT NULL,
            value       VARCHAR NOT NULL,
            series      BIGINT NOT NULL
        );
        CREATE TABLE counted_label_values (  -- per label over every metric: distinct values, a sample
            snapshot_id  INTEGER NOT NULL,
            source       VARCHAR NOT NULL,
            label        VARCHAR NOT NULL,
            label_values BIGINT NOT NULL,
            sample       VARCHAR[] NOT NULL,
            coverage     VARCHAR NOT NULL     -- exact | lower_bound (the server refused the union)
        );
        CREATE TABLE count_runs (
            snapshot_id  INTEGER NOT NULL,
            source       VARCHAR NOT NULL,
            mode         VARCHAR NOT NULL,    -- series | counts
            reason       VARCHAR NOT NULL,    -- why this mode (auto says what it estimated)
            evaluated_at DOUBLE,              -- unix seconds every count was evaluated at
            lookback_s   DOUBLE,
            top_n        INTEGER,
            queries      BIGINT NOT NULL DEFAULT 0,
            samples      BIGINT,              -- samples the backend reported touching
            seconds      DOUBLE,              -- summed query time
            slowest      JSON                 -- [{query, seconds}]
        );
        -- what an action changes, to compose actions into a plan
        ALTER TABLE recommendations ADD COLUMN metric VARCHAR;
        ALTER TABLE recommendations ADD COLUMN labels VARCHAR[];   -- labels it aggregates away
        ALTER TABLE recommendations ADD COLUMN points VARCHAR[];   -- bucket bounds it drops
        """,
    ),
    Migration(
        10,
        "what each OpenTelemetry attribute weighs on log records and on the resources of logs and spans",
        """
        CREATE TABLE otel_attributes (
            snapshot_id    INTEGER NOT NULL,
            source         VARCHAR NOT NULL,
            signal         VARCHAR NOT NULL,   -- logs | traces
            scope          VARCHAR NOT NULL,   -- record (a log record's own) | resource (copied onto each)
            key            VARCHAR NOT NULL,
            items          DOUBLE NOT NULL,    -- records or spans carrying it
            bytes          DOUBLE NOT NULL,    -- key, value and JSON punctuation, once per item
            value_count    BIGINT NOT NULL,    -- distinct values, counted up to values_capped
            values_capped  BOOLEAN NOT NULL,   -- more distinct values than were counted
            max_chars      BIGINT NOT NULL,
            hash_saves     DOUBLE NOT NULL,    -- bytes a 16-character hash of each value saves
            truncate_saves DOUBLE NOT NULL,    -- bytes cutting each value at 256 characters saves
            period_s       DOUBLE
        );
        """,
    ),
    Migration(
        11,
        "each series' family as an integer key on metric_series and series_labels",
        """
        ALTER TABLE metric_series ADD COLUMN family_id UBIGINT;
        ALTER TABLE series_labels ADD COLUMN family_id UBIGINT;
        """
        + FAMILY_IDS,
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
