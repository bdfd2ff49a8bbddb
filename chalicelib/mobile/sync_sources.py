"""Where offline sync learns what changed, each source read by an index after a moment (never
a scan), merged into one stream of `Changed` records ordered by time:

- images: their own `by_sync` index (every write of an image row stamps `sync_ms`, in the same
  item: settlement, uploads, library edits, publishing; store/images.py);
- tags: the tag count rows' `by_sync` index (every count change stamps it; store/library_index.py);
- the change log (`sync_changes`, index `by_time`; store/sync_log.py): folders and templates,
  touched in the transactions that change them, and the tombstones of images deleted for good.

Each source is read `limit` deep, so the first `limit` of the merge are the first `limit` overall.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.store import images as image_store
from chalicelib.store import library_index, sync_log
from chalicelib.store.models import SyncChangeModel


@dataclass(frozen=True)
class Changed:
    """One record that changed (a sync_rules.LogRow); `created_ms` when a source knows it."""

    record_key: str
    changed_ms: int
    created_ms: int | None = None
    gone: bool | None = None


def _latest(found: list[Changed]) -> list[Changed]:
    """One entry per record (its latest change), oldest change first."""
    by_key: dict[str, Changed] = {}
    for change in found:
        if change.record_key not in by_key or change.changed_ms > by_key[change.record_key].changed_ms:
            by_key[change.record_key] = change
    return sorted(by_key.values(), key=lambda c: (c.changed_ms, c.record_key))


def _logged(rows: list[SyncChangeModel]) -> list[Changed]:
    return [
        Changed(str(r.record_key), int(r.changed_ms), int(r.created_ms) if r.created_ms is not None else None, r.gone)
        for r in rows
    ]


def changed_since(workspace_id: str, since_ms: int, limit: int) -> list[Changed]:
    """The first `limit` changes after `since_ms`, oldest first."""
    found = _logged(sync_log.changed_since(workspace_id, since_ms, limit))
    found += [Changed(f"images:{i}", ms) for i, ms in image_store.synced_since(workspace_id, since_ms, limit)]
    found += [Changed(f"tags:{t}", ms) for t, ms in library_index.tags_synced_since(workspace_id, since_ms, limit)]
    return _latest(found)[:limit]


def changed_between(workspace_id: str, low_ms: int, high_ms: int) -> list[Changed]:
    """Every change in [low_ms, high_ms] (a page's last slot, read whole)."""
    found = _logged(sync_log.changed_between(workspace_id, low_ms, high_ms))
    found += [Changed(f"images:{i}", ms) for i, ms in image_store.synced_between(workspace_id, low_ms, high_ms)]
    found += [Changed(f"tags:{t}", ms) for t, ms in library_index.tags_synced_between(workspace_id, low_ms, high_ms)]
    return _latest(found)


def last_changes(workspace_id: str, keys: list[str]) -> dict[str, Changed]:
    """When each of these records last changed, by key (absent: not since the log began): what a
    push is checked against."""
    found = _logged(list(sync_log.get_many(workspace_id, keys).values()))
    images = [key.split(":", 1)[1] for key in keys if key.startswith("images:")]
    for image_id, row in image_store.get_images(workspace_id, images).items():
        if row.sync_ms is not None:
            found.append(Changed(f"images:{image_id}", int(row.sync_ms)))
    tags = [key.split(":", 1)[1] for key in keys if key.startswith("tags:")]
    for tag, (_, sync_ms) in library_index.tag_counts_of(workspace_id, tags).items():
        if sync_ms is not None:
            found.append(Changed(f"tags:{tag}", sync_ms))
    return {change.record_key: change for change in _latest(found)}
