"""The DuckDB store: schema, snapshot life cycle, and the SQL next to each table."""

from costscope.store.database import (
    SnapshotWriter,
    SourceErrorRecord,
    SourceInfo,
    SourceResult,
    Store,
    default_db_path,
)
from costscope.store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "SnapshotWriter",
    "SourceErrorRecord",
    "SourceInfo",
    "SourceResult",
    "Store",
    "default_db_path",
]
