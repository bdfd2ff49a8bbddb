"""Exports: a zip of chosen images (or of a folder's) built in object storage by the exports
worker (`library.export_worker`) and offered through an expiring URL.

Rules (README "Library"; tests/functional/test_library_exports.py tries to break each):
- Exactly one of `image_ids` (1-500 distinct ids) or `folder_id` (the images directly in it, at
  most 500). Only the workspace's own live images: an id that is another tenant's, unknown or in
  the trash is 404 as a whole (nothing is queued); a folder with no live image is 400.
- The originals may weigh at most MAX_EXPORT_BYTES in all (413 otherwise): the worker streams
  them into the zip part by part, so its memory does not grow with the export.
- At most MAX_PENDING_EXPORTS exports of a workspace are queued or running at once: one more is
  429 `rate_limited` (scope `workspace`) until one finishes. Exports cost no credits.
- A ready zip is downloadable (a fresh presigned URL per read) for EXPORT_RETENTION, then deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, ids
from chalicelib.domain import Unavailable
from chalicelib.library import objects, rules
from chalicelib.library.errors import (
    BadLibraryInput,
    ExportNotFound,
    ExportsBusy,
    ExportTooLarge,
    FolderNotFound,
    LibraryImageNotFound,
)
from chalicelib.library.images import Actor, valid_image_id
from chalicelib.store import exports as export_store
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store.models import ExportModel, ImageModel
from chalicelib.store.transaction import TransactionCancelled


@dataclass(frozen=True)
class ExportRecord:
    """An export and, when its zip is ready, a presigned URL to it (signing is local: no request)."""

    row: ExportModel
    status: str
    url: str | None
    url_expires_at: datetime | None


def export_key(workspace_id: str, export_id: str) -> str:
    return f"{objects.EXPORTS}{workspace_id}/{export_id}.zip"


def create_export(actor: Actor, image_ids: list[str] | None, folder_id: str | None) -> ExportRecord:
    """Queue a new export of the images (or the folder's): 202 once it is on the queue."""
    rows = _chosen(actor.workspace_id, image_ids) if image_ids is not None else _folder(actor.workspace_id, folder_id)
    size = sum(int(row.bytes) for row in rows)
    if size > rules.MAX_EXPORT_BYTES:
        raise ExportTooLarge(f"these images weigh {size} bytes; an export holds at most {rules.MAX_EXPORT_BYTES}")
    now = clock.now()
    export_id = ids.new_id("exp", now)
    row = ExportModel(
        actor.workspace_id, export_id, user_id=actor.user_id, status="queued", folder_id=folder_id,
        image_ids=[str(r.image_id) for r in rows], bytes=size, zip_key=export_key(actor.workspace_id, export_id),
        created_at=now, attempts=0,
    )  # fmt: skip
    try:
        export_store.create(row, rules.MAX_PENDING_EXPORTS, now + rules.EXPORT_DEADLINE)
    except TransactionCancelled as cancelled:
        if "export_slot" in cancelled.failures:
            raise ExportsBusy(
                f"{rules.MAX_PENDING_EXPORTS} exports are already queued or running; try again when one is ready",
                scope="workspace",
                retry_after=rules.EXPORT_RETRY_AFTER_S,
            ) from None
        raise
    _enqueue(row)
    return describe(row)


def _chosen(workspace_id: str, image_ids: list[str]) -> list[ImageModel]:
    """The images asked for, in order: each must be the workspace's and not in the trash."""
    if not image_ids or len(image_ids) > rules.MAX_EXPORT_IMAGES:
        raise BadLibraryInput(f"image_ids holds 1 to {rules.MAX_EXPORT_IMAGES} ids", field="image_ids")
    if len(set(image_ids)) != len(image_ids):
        raise BadLibraryInput("image_ids has a duplicate id", field="image_ids")
    bad = next((image_id for image_id in image_ids if not valid_image_id(image_id)), None)
    if bad is not None:
        raise BadLibraryInput(f"{bad!r} is not an image id", field="image_ids")
    found = image_store.get_images(workspace_id, image_ids)
    for image_id in image_ids:
        if image_id not in found or found[image_id].trashed_at is not None:
            raise LibraryImageNotFound(image_id)
    return [found[image_id] for image_id in image_ids]


def _folder(workspace_id: str, folder_id: str | None) -> list[ImageModel]:
    """The folder's live images, newest first (not its subfolders')."""
    if folder_id is None or folder_store.get_folder(workspace_id, folder_id) is None:
        raise FolderNotFound(str(folder_id), field="folder_id")
    found, more = image_store.folder_page(workspace_id, folder_id, "img_", "img_~", rules.MAX_EXPORT_IMAGES + 1)
    if more or len(found) > rules.MAX_EXPORT_IMAGES:
        raise ExportTooLarge(f"the folder holds more than {rules.MAX_EXPORT_IMAGES} images: export them by image_ids")
    rows = image_store.get_images(workspace_id, found)
    live = [rows[i] for i in found if i in rows and rows[i].trashed_at is None and rows[i].folder_id == folder_id]
    if not live:
        raise BadLibraryInput("the folder has no images to export", field="folder_id")
    return live


def _enqueue(row: ExportModel) -> None:
    """One message for the worker; when it cannot be sent, the export fails at once (its slot
    comes back) and the caller gets 503 to try again."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.aws import client, queue_url
    from chalicelib.settings import get_settings

    body = json.dumps({"workspace_id": row.workspace_id, "export_id": row.export_id}, separators=(",", ":"))
    try:
        client("sqs").send_message(QueueUrl=queue_url(get_settings().exports_queue_name), MessageBody=body)
    except (BotoCoreError, ClientError):
        error = {"code": "queue_unavailable", "message": "the export could not be queued; ask again"}
        export_store.finish(row, "failed", {"error": error, "finished_at": clock.now()})
        raise Unavailable("the export could not be queued; try again", retry_after=5) from None


def get_export(workspace_id: str, export_id: str) -> ExportRecord:
    row = export_store.get_export(workspace_id, export_id) if ids.is_id(export_id, "exp") else None
    if row is None:
        raise ExportNotFound(f"export {export_id} not found")
    return describe(row)


Cursor = dict[str, Any]


def list_exports(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[ExportRecord], Cursor | None]:
    rows, last = export_store.newest(workspace_id, limit, cursor)
    return [describe(row) for row in rows], last


def describe(row: ExportModel) -> ExportRecord:
    """Its status as of now (a ready zip past its expiry is `expired`, even before the purge
    deletes it) and, while ready, a URL valid for PRESIGN_EXPIRY_S at most (never past expiry)."""
    from chalicelib.settings import get_settings

    now = clock.now()
    status = str(row.status)
    if status == "ready" and row.expires_at is not None and row.expires_at <= now:
        status = "expired"
    if status != "ready":
        return ExportRecord(row, status, None, None)
    left = int((row.expires_at - now).total_seconds()) if row.expires_at is not None else get_settings().presign_expiry_s
    seconds = max(1, min(get_settings().presign_expiry_s, left))
    url = objects.url(str(row.zip_key), download_name=f"{row.export_id}.zip", expires_s=seconds)
    return ExportRecord(row, status, url, now + timedelta(seconds=seconds))
