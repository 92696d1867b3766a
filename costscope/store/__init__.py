"""The DuckDB store: schema, snapshot life cycle, and the SQL next to each table."""

from costscope.store.database import SourceInfo, Store, default_db_path
from costscope.store.schema import SCHEMA_VERSION
from costscope.store.snapshot import SnapshotWriter, SourceErrorRecord, SourceResult

__all__ = [
    "SCHEMA_VERSION",
    "SnapshotWriter",
    "SourceErrorRecord",
    "SourceInfo",
    "SourceResult",
    "Store",
    "default_db_path",
]
