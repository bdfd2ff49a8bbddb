"""The library's scheduled cleanup: images trashed for TRASH_RETENTION are deleted with their
objects; uploads never completed are dropped with their object once expired; exports still
pending at their deadline fail, and ready zips are deleted at their expiry; expired share
links' copies are deleted.

Work is found through the due queue (store.library_index: a few sharded keys, oldest first),
never a scan. Every step is idempotent and the queue row goes last, so a run that dies midway,
or two runs at once, or the same run twice, leave the same end state: objects are deleted
before the row that names them, and a row already gone is simply forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.library import changes, objects, rules
from chalicelib.library.errors import LibraryImageNotFound
from chalicelib.store import library_index, uploads
from chalicelib.store.models import ImageModel


@dataclass(frozen=True)
class PurgeReport:
    images_purged: int
    uploads_expired: int
    skipped: int
    exports_swept: int = 0
    shares_expired: int = 0


def purge_due(now: datetime) -> PurgeReport:
    """Everything due by `now`."""
    done_by_kind: dict[str, int] = {}
    skipped = 0
    for due in library_index.due_before(now):
        done = _sweep(due, now)
        done_by_kind[due.kind] = done_by_kind.get(due.kind, 0) + done
        skipped += not done
        library_index.forget_due(due)
    n = done_by_kind.get
    return PurgeReport(n("purge", 0), n("upload", 0), skipped, n("export", 0) + n("export_zip", 0), n("share", 0))


def _sweep(due: library_index.Due, now: datetime) -> bool:
    if due.kind == "purge":
        return _purge_image(due.workspace_id, due.item_id, now)
    if due.kind in ("export", "export_zip"):
        from chalicelib.library.export_worker import sweep

        return sweep(due.kind, due.workspace_id, due.item_id, now)
    if due.kind == "share":
        from chalicelib.library.shares import expire_copies

        return expire_copies(due.workspace_id, due.item_id, now)
    return _expire_upload(due.workspace_id, due.item_id, now)


def _due(image: ImageModel, now: datetime) -> bool:
    return image.trashed_at is not None and image.trashed_at + rules.TRASH_RETENTION <= now


def _purge_image(workspace_id: str, image_id: str, now: datetime) -> bool:
    from chalicelib.store import images as image_store

    image = image_store.get_image(workspace_id, image_id)
    if image is None or not _due(image, now):
        return False  # purged already, or restored (and perhaps trashed again: its own row is due later)
    objects.delete(objects.keys_of(image))
    outcome = changes.run(
        workspace_id, [image_id], lambda row: changes.delete_change(row) if _due(row, now) else None, LibraryImageNotFound
    )
    return image_id in outcome.done and outcome.done[image_id] is None


def _expire_upload(workspace_id: str, upload_id: str, now: datetime) -> bool:
    upload = uploads.get_upload(workspace_id, upload_id)
    if upload is None or upload.status != "pending" or upload.expires_at > now:
        return False
    objects.delete([str(upload.s3_key)])
    return uploads.drop_pending(upload)
