"""The public copies of gallery and collection images: opaque object keys (no workspace, no image
id: library.objects.shared_copy), made once, presigned on read, deleted when an image leaves the
public (unpublished or hidden), so a URL handed out before stops working at once."""

from __future__ import annotations

from chalicelib.library import objects
from chalicelib.library.shares import preview_key
from chalicelib.store.models import ImageModel

SECRET = "imagegen-gallery"  # names the copies; the bucket is private, reads are presigned


def preview_copy(row: ImageModel) -> str:
    """A reduced JPEG of the image (its thumbnail, or a preview made once), copied opaquely."""
    return objects.shared_copy(preview_key(row), SECRET)


def original_copy(row: ImageModel) -> str:
    return objects.shared_copy(str(row.s3_key), SECRET)


def url(key: str) -> str:
    """A presigned GET (signed locally: no request)."""
    return objects.url(key)


def forget(row: ImageModel) -> None:
    """Delete the image's public copies (whichever exist; deleting what is gone is no error)."""
    sources = {str(row.s3_key), objects.library_key(str(row.workspace_id), str(row.image_id), "preview.jpg")}
    if row.thumb_key:
        sources.add(str(row.thumb_key))
    objects.delete(sorted(objects.shared_name(key, SECRET) for key in sources))
