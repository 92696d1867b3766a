"""The kinds a source can be (a leaf module: the CLI names them in its help without loading the rest)."""

SOURCE_KINDS = (
    "auto", "prometheus", "victoriametrics", "mimir", "thanos", "exposition", "series", "grafana", "rules",
    "logs", "loki", "traces", "jaeger", "tempo", "parquet", "queries", "otlp_metrics", "otlp_logs", "tap",
)  # fmt: skip

EXPORT_MARKER = "snapshots.parquet"  # the file that makes a folder a `costscope export --parquet`
