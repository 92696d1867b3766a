"""Retention: drop snapshots older than a window, every table at once, newer ones untouched."""

from __future__ import annotations

from costscope.errors import StoreError
from costscope.store.database import Store
from costscope.store.snapshot import atomic, discard_rows


def prune(store: Store, keep_s: float) -> list[int]:
    """Delete the snapshots that started more than ``keep_s`` seconds ago; returns their ids.

    One transaction: a crash leaves every snapshot or none of the deleted ones. A running
    snapshot is never deleted, nor the newest complete one (a weekly job must keep a baseline).
    """
    if store.read_only:
        raise StoreError("the database was opened read-only", path=str(store.path))
    old = store.query(
        "SELECT id FROM snapshots WHERE started_at < now() - to_seconds(?) AND status != 'running'"
        " AND id != coalesce((SELECT max(id) FROM snapshots WHERE status IN ('complete', 'partial')), -1)"
        " ORDER BY id",
        [keep_s],
    )["id"].to_list()
    if not old:
        return []
    marks = ", ".join("?" for _ in old)
    with atomic(store.conn):
        discard_rows(store.conn, old)
        store.conn.execute(f"DELETE FROM snapshots WHERE id IN ({marks})", old)
    store.conn.execute("CHECKPOINT")
    return [int(i) for i in old]
