"""Offline sync, pull side: `GET /v1/sync?last_pulled_at=` (WatermelonDB's `pullChanges`).

What changed comes from three indexes (mobile/sync_sources.py); a page costs those three
Queries and one BatchGetItem per table for the records themselves (folders: one Query of the
workspace's folders), whatever the library's size: never a scan. The tables and their columns:

- `images`: id, job_id, user_id, kind, prompt, title, tags (a JSON string: WatermelonDB's
  `@json` column), folder_id, width, height, content_type, visibility, created_at, trashed_at
  (epoch ms; a trashed image stays in the table until it is deleted for good);
- `folders`: id, name, parent_id, user_id, created_at;
- `tags`: id (= the tag), name, count;
- `templates`: id, name, prompt, tags (JSON), variables (JSON), visibility, version,
  created_by, created_at, updated_at (templates the caller may see).

Every record also carries `server_changed_at` (ms): sent back unchanged in a push, it lets the
server tell a record the client saw from one changed after (sync_rules.conflicts).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.mobile import sync_rules as rules
from chalicelib.mobile import sync_sources as sources
from chalicelib.mobile.errors import SyncExpired
from chalicelib.settings import get_settings
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store import library_index, sync_log
from chalicelib.store import templates as template_store
from chalicelib.store.models import FolderModel, ImageModel, TemplateModel

Record = dict[str, Any]


@dataclass(frozen=True)
class Reader:
    """Who pulls: templates are shown as their visibility allows this person."""

    workspace_id: str
    user_id: str


@dataclass(frozen=True)
class Pulled:
    changes: dict[str, dict[str, list[Any]]]
    timestamp: int
    has_more: bool


def _ms(at: datetime | None) -> int | None:
    return sync_log.millis(at) if at is not None else None


def image_record(row: ImageModel) -> Record:
    return {
        "id": str(row.image_id), "job_id": row.job_id or None, "user_id": row.user_id, "kind": str(row.kind or "generate"),
        "prompt": row.prompt, "title": row.title, "tags": json.dumps(list(row.tags or [])), "folder_id": row.folder_id,
        "width": int(row.width), "height": int(row.height), "content_type": row.content_type,
        "visibility": row.visibility or "private", "created_at": _ms(row.created_at), "trashed_at": _ms(row.trashed_at),
    }  # fmt: skip


def folder_record(row: FolderModel) -> Record:
    return {"id": str(row.folder_id), "name": row.name, "parent_id": row.parent_id, "user_id": row.user_id,
            "created_at": _ms(row.created_at)}  # fmt: skip


def template_record(row: TemplateModel) -> Record:
    return {
        "id": str(row.template_id), "name": row.name, "prompt": row.prompt, "tags": json.dumps(list(row.tags or [])),
        "variables": json.dumps(dict(row.variables or {}), sort_keys=True), "visibility": row.visibility,
        "version": int(row.latest_version), "created_by": row.created_by, "created_at": _ms(row.created_at),
        "updated_at": _ms(row.updated_at),
    }  # fmt: skip


def visible_template(reader: Reader, row: TemplateModel) -> bool:
    """As the templates service decides (templates/service.py `_visible`) for the reader's workspace."""
    if row.deleted_at is not None or row.workspace_id != reader.workspace_id:
        return False
    return row.visibility != "private" or row.created_by == reader.user_id


def _records(reader: Reader, keys: list[str]) -> tuple[dict[str, Record], dict[str, int]]:
    """The current record of each key the reader may see (absent: gone or hidden), and when the
    images were created (their rows say; the change log says it for folders and templates)."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        table, record_id = rules.split_key(key)
        wanted[table].append(record_id)
    ws, out, created = reader.workspace_id, {}, {}
    if wanted["images"]:
        for image_id, image in image_store.get_images(ws, wanted["images"]).items():
            out[f"images:{image_id}"] = image_record(image)
            created[f"images:{image_id}"] = sync_log.millis(image.created_at)
    if wanted["folders"]:
        every = {str(f.folder_id): f for f in folder_store.all_folders(ws)}
        out.update({f"folders:{f}": folder_record(every[f]) for f in wanted["folders"] if f in every})
    if wanted["tags"]:
        counts = library_index.tag_counts_of(ws, wanted["tags"])
        out.update({f"tags:{t}": {"id": t, "name": t, "count": n} for t, (n, _) in counts.items() if n > 0})
    if wanted["templates"]:
        for template_id, head in template_store.heads(wanted["templates"]).items():
            if visible_template(reader, head):
                out[f"templates:{template_id}"] = template_record(head)
    return out, created


def _page(workspace_id: str, last_pulled_at: int | None) -> rules.Page:
    rows = sources.changed_since(workspace_id, rules.since_of(last_pulled_at), rules.PULL_PAGE + 1)
    kept, through, whole_slot = rules.cut(list(rows), rules.PULL_PAGE)
    if whole_slot is not None:
        kept = list(sources.changed_between(workspace_id, whole_slot, whole_slot + 1))
    return rules.Page(kept, len(rows) > rules.PULL_PAGE, through)


def empty_changes() -> dict[str, dict[str, list[Any]]]:
    return {table: {rules.CREATED: [], rules.UPDATED: [], rules.DELETED: []} for table in sync_log.TABLES}


def pull(reader: Reader, last_pulled_at: int | None) -> Pulled:
    """The changes after `last_pulled_at` (None: everything), one page at most."""
    overlap = get_settings().sync_overlap_ms
    now_ms = sync_log.millis(clock.now())
    if last_pulled_at is not None and last_pulled_at < now_ms - sync_log.TOMBSTONE_S * 1000:
        raise SyncExpired(sync_log.TOMBSTONE_S // 86400)
    page = _page(reader.workspace_id, last_pulled_at)
    records, created = _records(reader, [str(row.record_key) for row in page.rows])
    seen = rules.seen_until(last_pulled_at, overlap)
    changes = empty_changes()
    for row in page.rows:
        key = str(row.record_key)
        table, record_id = rules.split_key(key)
        if table not in changes:
            continue
        record = records.get(key)
        if key in created:
            row = sources.Changed(key, int(row.changed_ms), created[key], row.gone)
        kind = rules.kind_of(row, seen, visible=record is not None)
        if kind == rules.DELETED:
            changes[table][kind].append(record_id)
        else:
            changes[table][kind].append({**(record or {}), "server_changed_at": int(row.changed_ms)})
    return Pulled(changes, rules.timestamp_of(page, now_ms, overlap), page.has_more)
