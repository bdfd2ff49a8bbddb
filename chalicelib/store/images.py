"""Image persistence: one row per image a job made, with its lineage; the bytes live in S3.

Rows of a job's images are written by settlement, in the transaction that charges the job, so
images and charge appear together or not at all; this module builds them and reads them back.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.models import ImageModel


def get_image(workspace_id: str, image_id: str) -> ImageModel | None:
    """The workspace's image, or None (another tenant's image is not found either)."""
    try:
        return ImageModel.get(workspace_id, image_id)
    except ImageModel.DoesNotExist:
        return None


def new_image(
    workspace_id: str,
    image_id: str,
    *,
    job_id: str,
    user_id: str,
    s3_key: str,
    width: int,
    height: int,
    content_type: str,
    size_bytes: int,
    source_image_id: str | None,
    kind: str,
    created_at: datetime,
) -> ImageModel:
    """An image's row, not yet written: settlement writes it with the charge."""
    return ImageModel(
        workspace_id,
        image_id,
        job_id=job_id,
        user_id=user_id,
        s3_key=s3_key,
        width=width,
        height=height,
        content_type=content_type,
        bytes=size_bytes,
        source_image_id=source_image_id,
        kind=kind,
        created_at=created_at,
    )
