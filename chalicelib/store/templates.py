"""Template persistence: versions, the head row, the listings and the usage counters.

Rows (`TemplateModel`, key `template_id` + `version`): version 0 is the head, a copy of the
latest version plus the listing keys; versions 1..n are immutable. Creating writes the head and
version 1 in one transaction; an edit writes version n+1 and the new head in one transaction
conditioned on the head still being at n (two concurrent edits cannot both win); deleting marks
the head and drops its listing keys, and keeps every version row for the jobs that used it.

Listings read indexes, never a Scan: `by_workspace` (one partition per workspace) and `public`
(PUBLIC_SHARDS partitions), merged newest first by id in store/sharded_listing.py (`?q=` and
`?tag=` are filter expressions: a page runs a bounded number of queries and may come back short
with a next position when matches are rare).

Usage (`TemplateUsageModel`): a job made from a template adds 1 to one of USAGE_SHARDS counter
rows (`<tpl>#<k>`) and to its workspace's marker row (`<tpl>#ws#<ws_id>`); the marker's first
use also adds 1 to the counter's `workspaces`. A read sums the shards in one BatchGetItem.
40 shards keep a template used by every job at 10,000 jobs/s under 300 writes/s per key.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.store import sharded_listing, sync_log
from chalicelib.store.models import TemplateModel, TemplateUsageModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

HEAD = 0
PUBLIC_SHARDS = 4
USAGE_SHARDS = 40


def public_shard(template_id: str) -> str:
    """The public listing partition of a template: fixed by its id."""
    return f"pub#{zlib.crc32(template_id.encode('utf-8')) % PUBLIC_SHARDS}"


def _listing_keys(row: TemplateModel) -> None:
    row.ws_listing = row.workspace_id
    row.public_shard = public_shard(row.template_id) if row.visibility == "public" else None


def _as_head(version_row: TemplateModel) -> TemplateModel:
    """The head row copying a version row (same content, version 0, the listing keys)."""
    head = TemplateModel(version_row.template_id, HEAD, **_content(version_row))
    _listing_keys(head)
    return head


def _content(row: TemplateModel) -> dict[str, Any]:
    names = ("latest_version", "workspace_id", "created_by", "name", "prompt", "variables", "tags", "words")
    more = ("visibility", "provider", "model", "size", "n", "created_at", "updated_at")
    return {name: getattr(row, name) for name in (*names, *more)}


def new_version(template_id: str, version: int, **content: Any) -> TemplateModel:
    """A version row, not yet written (`content`: the TemplateModel attributes of that version)."""
    return TemplateModel(template_id, version, latest_version=version, **content)


def create(first: TemplateModel) -> None:
    """Write version 1 and its head, together."""
    txn = Transaction()
    txn.put("head", _as_head(first), TemplateModel.template_id.does_not_exist())
    txn.put("version", first, TemplateModel.template_id.does_not_exist())
    sync_log.touch_in(txn, first.workspace_id, "templates", first.template_id, first.updated_at)  # offline sync
    txn.commit()


def add_version(row: TemplateModel) -> bool:
    """Write version `row.version` and make it the head, if the head is still at the version
    before it and not deleted; False when another edit (or a delete) came first."""
    txn = Transaction()
    txn.put("version", row, TemplateModel.template_id.does_not_exist())
    current = (TemplateModel.latest_version == row.version - 1) & TemplateModel.deleted_at.does_not_exist()
    txn.put("head", _as_head(row), TemplateModel.template_id.exists() & current)
    sync_log.touch_in(txn, row.workspace_id, "templates", row.template_id, row.updated_at)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


def get(template_id: str, version: int = HEAD) -> TemplateModel | None:
    """The head (default) or one version of a template, read consistently; None when absent."""
    try:
        return TemplateModel.get(template_id, version, consistent_read=True)
    except TemplateModel.DoesNotExist:
        return None


def mark_deleted(template_id: str, latest_version: int, now: datetime, workspace_id: str) -> bool:
    """Take the template out of every listing and out of use; its version rows stay. False when
    it changed (or was deleted) since it was read. The deletion enters the offline-sync change
    log (its tombstone) in the same transaction."""
    head = TemplateModel(template_id, HEAD)
    actions = [TemplateModel.deleted_at.set(now), TemplateModel.ws_listing.remove(), TemplateModel.public_shard.remove()]
    txn = Transaction()
    unchanged = (TemplateModel.latest_version == latest_version) & TemplateModel.deleted_at.does_not_exist()
    txn.update("head", head, actions, unchanged)
    sync_log.touch_in(txn, workspace_id, "templates", template_id, now, gone=True)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


# --- listings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFilter:
    """What a listing narrows to: every word of `words`, the tag, and (in a workspace listing)
    private templates only of `viewer`."""

    words: Sequence[str] = ()
    tag: str | None = None
    viewer: str | None = None

    def condition(self) -> Any:
        parts: list[Any] = [TemplateModel.words.contains(word) for word in self.words]
        if self.tag:
            parts.append(TemplateModel.tags.contains(self.tag))
        if self.viewer:
            parts.append((TemplateModel.visibility != "private") | (TemplateModel.created_by == self.viewer))
        return reduce(lambda a, b: a & b, parts) if parts else None


def workspace_page(
    workspace_id: str, limit: int, before: str | None, where: ListingFilter
) -> tuple[list[TemplateModel], str | None]:
    """Up to `limit` live templates of the workspace below id `before`, newest first, and where
    the next page starts (None on the last)."""
    listing = sharded_listing.Listing(TemplateModel, TemplateModel.by_workspace, "template_id")
    return sharded_listing.page(listing, [workspace_id], limit, before, where.condition())


def public_page(limit: int, before: str | None, where: ListingFilter) -> tuple[list[TemplateModel], str | None]:
    """Up to `limit` live public templates of every workspace below id `before`, newest first."""
    listing = sharded_listing.Listing(TemplateModel, TemplateModel.public, "template_id")
    return sharded_listing.page(listing, [f"pub#{n}" for n in range(PUBLIC_SHARDS)], limit, before, where.condition())


# --- usage ------------------------------------------------------------------------------------


def record_use(template_id: str, workspace_id: str, shard: int, now: datetime) -> None:
    """Count one use (two writes): the workspace's marker, then one counter shard, which also
    counts the workspace when this was its first use."""
    marker = TemplateUsageModel(f"{template_id}#ws#{workspace_id}")
    marker.update(
        actions=[TemplateUsageModel.uses.add(1), TemplateUsageModel.first_used_at.set(TemplateUsageModel.first_used_at | now)]
    )
    first = int(marker.uses or 0) == 1  # ADD is atomic: exactly one use sees 1
    actions: list[Action] = [TemplateUsageModel.uses.add(1)]
    if first:
        actions.append(TemplateUsageModel.workspaces.add(1))
    TemplateUsageModel(f"{template_id}#{shard % USAGE_SHARDS}").update(actions=actions)


def usage(template_id: str) -> tuple[int, int]:
    """(uses, distinct workspaces) of a template: the sum of its shards (one BatchGetItem)."""
    keys = [f"{template_id}#{n}" for n in range(USAGE_SHARDS)]
    rows = list(TemplateUsageModel.batch_get(keys))
    return sum(int(r.uses or 0) for r in rows), sum(int(r.workspaces or 0) for r in rows)


def heads(template_ids: list[str]) -> dict[str, TemplateModel]:
    """The head rows of these templates, by id, read consistently (offline sync's pull)."""
    wanted = list(dict.fromkeys(template_ids))
    found: dict[str, TemplateModel] = {}
    for start in range(0, len(wanted), 100):
        for row in TemplateModel.batch_get([(tid, HEAD) for tid in wanted[start : start + 100]], consistent_read=True):
            found[str(row.template_id)] = row
    return found


def scan_live_heads(cursor: dict[str, Any] | None, limit: int) -> tuple[list[TemplateModel], dict[str, Any] | None]:
    """Head rows of live templates, a page at a time (one-off `backfill-sync`: a Scan)."""
    condition = (TemplateModel.version == HEAD) & TemplateModel.deleted_at.does_not_exist()
    result = TemplateModel.scan(condition, limit=limit, page_size=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key
