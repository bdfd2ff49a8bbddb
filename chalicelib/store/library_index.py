"""The library's index table (LibraryIndexModel): facet rows, tag counts, usage counters and
the due-work queue. The only code that touches that model.

Facet rows are keyed "<ws>#<facet>" / image_id, so a facet's page is one Query newest first
(ULID ids sort by time) whatever the library's size. A workspace's rows are its own keys: its
ceiling is DynamoDB's ~1,000 writes/s per key (one workspace writing one facet), far above what
one workspace's generation or edits produce. The due queue is sharded (DUE_SHARDS keys) so no
key is hot platform-wide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.store.models import LibraryIndexModel
from chalicelib.store.transaction import Transaction

DUE_SHARDS = 4
TAGS = "tags"
USAGE = "usage"
STORAGE_BYTES = "storage_bytes"
FOLDER_TREE = "folder_tree"


def facet_key(workspace_id: str, facet: str) -> str:
    return f"{workspace_id}#{facet}"


def put_facets(workspace_id: str, rows: Iterable[tuple[str, str]]) -> None:
    """Write (facet, image_id) rows in batches of 25 (idempotent puts; written before the image
    row changes, so an image is never visible without its rows)."""
    with LibraryIndexModel.batch_write() as batch:
        for facet, image_id in rows:
            batch.save(LibraryIndexModel(facet_key(workspace_id, facet), image_id))


def delete_facets(workspace_id: str, rows: Iterable[tuple[str, str]]) -> None:
    """Delete (facet, image_id) rows of images that no longer exist (ids are never reused)."""
    with LibraryIndexModel.batch_write() as batch:
        for facet, image_id in rows:
            batch.delete(LibraryIndexModel(facet_key(workspace_id, facet), image_id))


def delete_facet_in(txn: Transaction, label: str, workspace_id: str, facet: str, image_id: str) -> None:
    """Remove a facet row in the transaction that changes the image (exact under races)."""
    txn.delete(label, LibraryIndexModel(facet_key(workspace_id, facet), image_id))


def facet_page(workspace_id: str, facet: str, low: str, high: str, limit: int) -> tuple[list[str], bool]:
    """Image ids under `facet` between low and high (inclusive), newest first; and whether more
    may follow. One Query."""
    result = LibraryIndexModel.query(
        facet_key(workspace_id, facet),
        LibraryIndexModel.sk.between(low, high),
        scan_index_forward=False,
        limit=limit,
        consistent_read=True,
    )
    ids = [row.sk for row in result]
    return ids, result.last_evaluated_key is not None


# --- counters ---------------------------------------------------------------------------------


def add_tag_counts(txn: Transaction, workspace_id: str, deltas: dict[str, int]) -> None:
    """Move tag counts; each row also records when (`sync_ms`: offline sync's `by_sync` index)."""
    from chalicelib import clock

    now_ms = int(clock.now().timestamp() * 1000)
    for tag, delta in sorted(deltas.items()):
        if delta:
            row = LibraryIndexModel(facet_key(workspace_id, TAGS), tag)
            txn.update(f"tag:{tag}", row, [LibraryIndexModel.n.add(delta), LibraryIndexModel.sync_ms.set(now_ms)])


def tag_counts(workspace_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, int]], str | None]:
    """(tag, count) by name, tags no image carries any more left out; and the last tag read."""
    key = facet_key(workspace_id, TAGS)
    condition = LibraryIndexModel.sk > after if after else None
    result = LibraryIndexModel.query(key, condition, limit=limit, consistent_read=True)
    rows = list(result)
    counts = [(row.sk, int(row.n or 0)) for row in rows if int(row.n or 0) > 0]
    return counts, (rows[-1].sk if rows and result.last_evaluated_key else None)


def counter(workspace_id: str, name: str) -> int:
    try:
        return int(LibraryIndexModel.get(facet_key(workspace_id, USAGE), name, consistent_read=True).n or 0)
    except LibraryIndexModel.DoesNotExist:
        return 0


def add_storage(txn: Transaction, workspace_id: str, delta: int, quota: int | None) -> None:
    """Count `delta` bytes; with a quota, only while the total stays within it (the condition
    cannot add, so it compares with quota - delta)."""
    row = LibraryIndexModel(facet_key(workspace_id, USAGE), STORAGE_BYTES)
    condition: Condition | None = None
    if quota is not None:
        condition = LibraryIndexModel.n.does_not_exist() | (LibraryIndexModel.n <= quota - delta)
        if quota - delta < 0:
            condition = LibraryIndexModel.n < -1  # never true: this alone is over the quota
    txn.update("storage", row, [LibraryIndexModel.n.add(delta)], condition)


def bump_folder_tree(txn: Transaction, workspace_id: str, seen: int) -> None:
    """Folder structure changes are serialised per workspace: each one moves the tree's version
    from the one it read, so two concurrent moves cannot build a cycle together."""
    row = LibraryIndexModel(facet_key(workspace_id, USAGE), FOLDER_TREE)
    condition = LibraryIndexModel.n.does_not_exist() if seen == 0 else LibraryIndexModel.n == seen
    txn.update("folder_tree", row, [LibraryIndexModel.n.add(1)], condition)


# --- due work ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """Work that falls due at `at`: purge a trashed image, or drop an expired upload."""

    pk: str
    sk: str
    kind: str
    workspace_id: str
    item_id: str


def _shard(workspace_id: str) -> str:
    return f"due#{int(hashlib.sha256(workspace_id.encode()).hexdigest(), 16) % DUE_SHARDS}"


def due_row(kind: str, workspace_id: str, item_id: str, at: datetime) -> LibraryIndexModel:
    return LibraryIndexModel(_shard(workspace_id), f"{int(at.timestamp()):011d}#{kind}#{workspace_id}#{item_id}")


def put_due_in(txn: Transaction, kind: str, workspace_id: str, item_id: str, at: datetime) -> None:
    txn.put(f"due:{item_id}", due_row(kind, workspace_id, item_id, at))


def delete_due_in(txn: Transaction, kind: str, workspace_id: str, item_id: str, at: datetime) -> None:
    txn.delete(f"due:{item_id}", due_row(kind, workspace_id, item_id, at))


def due_before(now: datetime, limit: int = 200) -> list[Due]:
    """What fell due by `now`, oldest first: one Query per shard."""
    bound = f"{int(now.timestamp()):011d}~"
    found: list[Due] = []
    for shard in range(DUE_SHARDS):
        for row in LibraryIndexModel.query(f"due#{shard}", LibraryIndexModel.sk < bound, limit=limit, consistent_read=True):
            _, kind, workspace_id, item_id = row.sk.split("#", 3)
            found.append(Due(row.pk, row.sk, kind, workspace_id, item_id))
    return found


def forget_due(due: Due) -> None:
    """Done (or found already done): drop the row. Deleting twice is harmless."""
    LibraryIndexModel(due.pk, due.sk).delete()


# --- usage: images kept, their bytes, pending exports ---------------------------------------------

IMAGES = "images"  # image rows that exist (live and trashed), counted when written (ImageModel.counted)
IMAGE_BYTES = "image_bytes"  # the bytes of those images' originals
EXPORTS_PENDING = "exports_pending"  # exports queued or running


def image_counter_updates(workspace_id: str, images: int, size: int) -> list[tuple[LibraryIndexModel, list[Any]]]:
    """The counter updates for `images` rows of `size` bytes in all (negative when they go): for
    a transaction written elsewhere (settlement writes a job's rows and these together)."""
    usage = facet_key(workspace_id, USAGE)
    return [
        (LibraryIndexModel(usage, IMAGES), [LibraryIndexModel.n.add(images)]),
        (LibraryIndexModel(usage, IMAGE_BYTES), [LibraryIndexModel.n.add(size)]),
    ]


def add_images_in(txn: Transaction, workspace_id: str, images: int, size: int) -> None:
    for row, actions in image_counter_updates(workspace_id, images, size):
        txn.update(f"usage:{row.sk}", row, actions)


def usage(workspace_id: str) -> dict[str, int]:
    """Every usage counter of a workspace by name: one Query of its small `usage` partition."""
    rows = LibraryIndexModel.query(facet_key(workspace_id, USAGE), consistent_read=True)
    return {str(row.sk): int(row.n or 0) for row in rows}


def take_export_slot_in(txn: Transaction, workspace_id: str, limit: int) -> None:
    """One more pending export, only while fewer than `limit` are (label "export_slot")."""
    row = LibraryIndexModel(facet_key(workspace_id, USAGE), EXPORTS_PENDING)
    condition = LibraryIndexModel.n.does_not_exist() | (LibraryIndexModel.n < limit)
    txn.update("export_slot", row, [LibraryIndexModel.n.add(1)], condition)


def give_export_slot_in(txn: Transaction, workspace_id: str) -> None:
    """An export left queued/running (in the transaction that moved its status on)."""
    row = LibraryIndexModel(facet_key(workspace_id, USAGE), EXPORTS_PENDING)
    txn.update("export_slot", row, [LibraryIndexModel.n.add(-1)])


def tag_counts_of(workspace_id: str, tags: list[str]) -> dict[str, tuple[int, int | None]]:
    """(count, sync_ms) of each of these tags (absent: never counted), by key (offline sync)."""
    key = facet_key(workspace_id, TAGS)
    found: dict[str, tuple[int, int | None]] = {}
    wanted = list(dict.fromkeys(tags))
    for start in range(0, len(wanted), 100):
        for row in LibraryIndexModel.batch_get([(key, tag) for tag in wanted[start : start + 100]], consistent_read=True):
            found[str(row.sk)] = (int(row.n or 0), int(row.sync_ms) if row.sync_ms is not None else None)
    return found


def tags_synced_since(workspace_id: str, since_ms: int, limit: int) -> list[tuple[str, int]]:
    """(tag, sync_ms) of up to `limit` tags whose count moved after `since_ms`, oldest first."""
    condition = LibraryIndexModel.sync_ms > since_ms
    result = LibraryIndexModel.by_sync.query(facet_key(workspace_id, TAGS), condition, scan_index_forward=True, limit=limit)
    return [(str(row.sk), int(row.sync_ms)) for row in result]


def tags_synced_between(workspace_id: str, low_ms: int, high_ms: int) -> list[tuple[str, int]]:
    """(tag, sync_ms) of every tag whose count last moved in [low_ms, high_ms]."""
    result = LibraryIndexModel.by_sync.query(facet_key(workspace_id, TAGS), LibraryIndexModel.sync_ms.between(low_ms, high_ms))
    return [(str(row.sk), int(row.sync_ms)) for row in result]


def scan_unsynced_tags(cursor: dict[str, Any] | None, limit: int) -> tuple[list[LibraryIndexModel], dict[str, Any] | None]:
    """Tag count rows never stamped with `sync_ms` (one-off `backfill-sync`: a Scan, never a request path)."""
    condition = LibraryIndexModel.pk.contains(f"#{TAGS}") & LibraryIndexModel.sync_ms.does_not_exist()
    result = LibraryIndexModel.scan(condition, limit=limit, page_size=limit, last_evaluated_key=cursor)
    return [row for row in result if str(row.pk).endswith(f"#{TAGS}")], result.last_evaluated_key


def stamp_tag(row: LibraryIndexModel, now_ms: int) -> bool:
    """Stamp a tag count row written before offline sync; False when a count change stamped it first."""
    from pynamodb.exceptions import UpdateError

    try:
        LibraryIndexModel(row.pk, row.sk).update(
            actions=[LibraryIndexModel.sync_ms.set(now_ms)],
            condition=LibraryIndexModel.pk.exists() & LibraryIndexModel.sync_ms.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
