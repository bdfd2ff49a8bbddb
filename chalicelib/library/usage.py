"""A workspace's library for operators: its usage (`GET /admin/api/workspaces/{id}/storage`): read
from the counters the library keeps in the transactions that change them, never from a scan.

- `images` / `image_bytes`: image rows kept (live and trashed) and their originals' bytes,
  counted by settlement (a job's images), an upload's completion and a delete for good. Rows
  written before these counters are counted once by `python -m chalicelib.ops backfill-library`.
- `upload_bytes` against `upload_quota_bytes`: the plan's storage for uploads (README "Uploads").
- `pending_exports`: exports queued or running (at most MAX_PENDING_EXPORTS).
Thumbnails, share previews and export zips are not counted (derived, and deleted on their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.library import images, rules, shares
from chalicelib.library.images import Actor, Filters, LibraryImage
from chalicelib.library.uploads import quota_of
from chalicelib.store import library_index
from chalicelib.tenancy.service import get_workspace


@dataclass(frozen=True)
class WorkspaceStorage:
    workspace_id: str
    plan: str
    images: int
    image_bytes: int
    upload_bytes: int
    upload_quota_bytes: int
    pending_exports: int
    max_pending_exports: int


def workspace_storage(workspace_id: str) -> WorkspaceStorage:
    """Two reads: the workspace (404 when there is none) and its usage counters (one Query)."""
    ws = get_workspace(workspace_id)
    plan = str(ws.plan or "free")
    counters = library_index.usage(workspace_id)
    return WorkspaceStorage(
        workspace_id=workspace_id,
        plan=plan,
        images=counters.get(library_index.IMAGES, 0),
        image_bytes=counters.get(library_index.IMAGE_BYTES, 0),
        upload_bytes=counters.get(library_index.STORAGE_BYTES, 0),
        upload_quota_bytes=quota_of(Actor(workspace_id, "", False, plan, dict(ws.limits or {}))),
        pending_exports=counters.get(library_index.EXPORTS_PENDING, 0),
        max_pending_exports=rules.MAX_PENDING_EXPORTS,
    )


def workspace_images(workspace_id: str, found: Filters, limit: int, before: str | None) -> tuple[list[LibraryImage], str | None]:
    """The workspace's images as its members list them (same filters and order); 404 for no workspace."""
    get_workspace(workspace_id)
    return images.list_images(workspace_id, found, limit, before)


def workspace_shares(
    workspace_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[shares.Share], dict[str, Any] | None]:
    """The workspace's share links, newest first (revoked ones too); 404 for no workspace."""
    get_workspace(workspace_id)
    return shares.list_shares(workspace_id, limit, cursor)
