"""Upload persistence (UploadModel): presigned uploads, pending until completed or expired."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store import library_index
from chalicelib.store.models import UploadModel
from chalicelib.store.transaction import Transaction


def get_upload(workspace_id: str, upload_id: str) -> UploadModel | None:
    try:
        return UploadModel.get(workspace_id, upload_id, consistent_read=True)
    except UploadModel.DoesNotExist:
        return None


def create(upload: UploadModel) -> None:
    """The pending upload and its expiry in the due queue, together."""
    txn = Transaction()
    txn.put("upload", upload, UploadModel.upload_id.does_not_exist())
    library_index.put_due_in(txn, "upload", str(upload.workspace_id), str(upload.upload_id), upload.expires_at)
    txn.commit()


def complete_in(txn: Transaction, upload: UploadModel, image_id: str) -> None:
    """Pending → completed (once: a second completion finds it completed)."""
    actions = [UploadModel.status.set("completed"), UploadModel.image_id.set(image_id)]
    txn.update("upload", UploadModel(upload.workspace_id, upload.upload_id), actions, UploadModel.status == "pending")


def drop_pending(upload: UploadModel) -> bool:
    """Delete an expired upload that is still pending; False when it was completed meanwhile."""
    from pynamodb.exceptions import DeleteError

    try:
        UploadModel(upload.workspace_id, upload.upload_id).delete(UploadModel.status == "pending")
    except DeleteError:
        return False
    return True


def new_upload(
    workspace_id: str, upload_id: str, *, user_id: str, s3_key: str, filename: str, content_type: str, size: int,
    expires_at: datetime, now: datetime,
) -> UploadModel:  # fmt: skip
    return UploadModel(
        workspace_id, upload_id, user_id=user_id, s3_key=s3_key, filename=filename, content_type=content_type,
        bytes=size, status="pending", expires_at=expires_at, created_at=now,
    )  # fmt: skip
