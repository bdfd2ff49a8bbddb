"""The offline-sync change log (SyncChangeModel): one row per synced record, touched in the
same transaction as every change of that record.

A touch sets `changed_ms` (the GSI `by_time` orders a workspace's rows by it), keeps the first
`created_ms`, and marks a deletion (`gone`, kept TOMBSTONE_S by TTL). Writers never read the
row: a touch is an unconditional update, so it never makes their transaction fail. Reads are a
Query of the index (`changed_since`) and BatchGetItem by key (`get_many`): never a scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib.store.models import SyncChangeModel
from chalicelib.store.transaction import Transaction

TOMBSTONE_S = 90 * 24 * 3600  # how long a deletion is remembered (clients offline longer resync)
BATCH_GET = 100

TABLES = ("images", "folders", "tags", "templates")


def millis(at: datetime) -> int:
    """The log's time unit: epoch milliseconds (WatermelonDB's `timestamp`)."""
    return int(at.timestamp() * 1000)


def record_key(table: str, record_id: str) -> str:
    return f"{table}:{record_id}"


def _actions(at: datetime, gone: bool) -> list[Any]:
    now_ms = millis(at)
    actions: list[Any] = [
        SyncChangeModel.changed_ms.set(now_ms),
        SyncChangeModel.created_ms.set(SyncChangeModel.created_ms | now_ms),
    ]
    if gone:
        actions += [SyncChangeModel.gone.set(True), SyncChangeModel.expires_at.set(int(at.timestamp()) + TOMBSTONE_S)]
    else:
        actions += [SyncChangeModel.gone.remove(), SyncChangeModel.expires_at.remove()]
    return actions


def touch_in(txn: Transaction, workspace_id: str, table: str, record_id: str, at: datetime, *, gone: bool = False) -> None:
    """Record that `table:record_id` changed (or, `gone`, was deleted) in the caller's transaction."""
    key = record_key(table, record_id)
    txn.update(f"sync:{key}", SyncChangeModel(workspace_id, key), _actions(at, gone))


def touch_updates(workspace_id: str, table: str, record_ids: Iterable[str], at: datetime) -> list[tuple[Any, list[Any]]]:
    """The same touches as (instance, actions) for a transaction built elsewhere (settlement's
    extra updates: a job's new images appear in the log with the charge that creates them)."""
    return [(SyncChangeModel(workspace_id, record_key(table, rid)), _actions(at, False)) for rid in record_ids]


def changed_since(workspace_id: str, since_ms: int, limit: int) -> list[SyncChangeModel]:
    """Up to `limit` rows changed after `since_ms`, oldest change first (one Query)."""
    condition = SyncChangeModel.changed_ms > since_ms
    return list(SyncChangeModel.by_time.query(workspace_id, condition, scan_index_forward=True, limit=limit))


def changed_between(workspace_id: str, low_ms: int, high_ms: int) -> list[SyncChangeModel]:
    """Every row whose last change is in [low_ms, high_ms] (a page never splits its last slot)."""
    return list(SyncChangeModel.by_time.query(workspace_id, SyncChangeModel.changed_ms.between(low_ms, high_ms)))


def get_many(workspace_id: str, keys: Iterable[str]) -> dict[str, SyncChangeModel]:
    """The rows of these record keys (absent: never changed since the log began), consistently."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, SyncChangeModel] = {}
    for start in range(0, len(wanted), BATCH_GET):
        batch = [(workspace_id, key) for key in wanted[start : start + BATCH_GET]]
        for row in SyncChangeModel.batch_get(batch, consistent_read=True):
            found[str(row.record_key)] = row
    return found


def touch_if_absent(workspace_id: str, table: str, record_id: str, at: datetime) -> bool:
    """Log a record made before the log (one-off `backfill-sync`); False when it is logged already."""
    from pynamodb.exceptions import UpdateError

    key = record_key(table, record_id)
    try:
        SyncChangeModel(workspace_id, key).update(
            actions=_actions(at, False), condition=SyncChangeModel.record_key.does_not_exist()
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
