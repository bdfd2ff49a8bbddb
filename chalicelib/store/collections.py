"""Collection persistence (CollectionModel): one row per collection, its items in order on it.

Every change is one UpdateItem conditioned on the `version` it read, so concurrent edits never
lose one another: the loser re-reads and plans again (gallery.collections). `item_count` is
written in the same update as the list, so it always equals the list's length.

Listings read indexes, never a Scan: `by_workspace` (a workspace's own partition) and `public`
(COLLECTION_SHARDS partitions, sparse: public collections only), both without the item lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.gallery import rules
from chalicelib.store import sharded_listing
from chalicelib.store.models import CollectionModel


def public_shard(collection_id: str) -> str:
    return f"pcol#{rules.shard_of(collection_id, rules.COLLECTION_SHARDS)}"


def get(collection_id: str) -> CollectionModel | None:
    """The collection, read consistently; None when absent."""
    try:
        return CollectionModel.get(collection_id, consistent_read=True)
    except CollectionModel.DoesNotExist:
        return None


def create(row: CollectionModel) -> None:
    row.public_shard = public_shard(row.collection_id) if row.visibility == rules.PUBLIC else None
    try:
        row.save(CollectionModel.collection_id.does_not_exist())
    except PutError as error:  # ids are new ULIDs: a clash is a bug, not a race to hide
        raise RuntimeError(f"collection id {row.collection_id} exists") from error


def _conditional(action: Any) -> bool:
    try:
        action()
    except (UpdateError, DeleteError) as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def write(row: CollectionModel, changes: dict[str, Any], now: datetime) -> bool:
    """Apply `changes` (attribute -> value; None removes) if the row is still at the version
    read, moving the version on. False when another edit (or a delete) came first."""
    if "visibility" in changes:
        changes["public_shard"] = public_shard(row.collection_id) if changes["visibility"] == rules.PUBLIC else None
    if "item_ids" in changes:
        changes["item_count"] = len(changes["item_ids"])
    actions: list[Any] = [CollectionModel.version.set(int(row.version) + 1), CollectionModel.updated_at.set(now)]
    for name, value in sorted(changes.items()):
        attribute = getattr(CollectionModel, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    condition = (CollectionModel.version == int(row.version)) & (CollectionModel.workspace_id == row.workspace_id)
    return _conditional(lambda: CollectionModel(row.collection_id).update(actions=actions, condition=condition))


def delete(row: CollectionModel) -> bool:
    """Delete the collection if it is still the workspace's (a second delete finds nothing)."""
    condition = CollectionModel.workspace_id == row.workspace_id
    return _conditional(lambda: CollectionModel(row.collection_id).delete(condition=condition))


def workspace_page(workspace_id: str, limit: int, before: str | None) -> tuple[list[CollectionModel], str | None]:
    """A workspace's collections below id `before`, newest first (one Query of its partition)."""
    key = CollectionModel.collection_id < before if before else None
    result = CollectionModel.by_workspace.query(workspace_id, key, scan_index_forward=False, limit=limit)
    rows = list(result)
    return rows, (rows[-1].collection_id if rows and result.last_evaluated_key else None)


def public_page(limit: int, before: str | None) -> tuple[list[CollectionModel], str | None]:
    """Public collections of every workspace below id `before`, newest first: one query per
    shard, merged (store.sharded_listing)."""
    listing = sharded_listing.Listing(CollectionModel, CollectionModel.public, "collection_id")
    return sharded_listing.page(listing, [f"pcol#{n}" for n in range(rules.COLLECTION_SHARDS)], limit, before, None)
