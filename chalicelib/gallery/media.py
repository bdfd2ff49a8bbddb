"""The public copies of gallery and collection images: object keys that name no workspace and no
image, presigned on read, deleted when an image leaves the public (unpublished or hidden), so a
URL handed out before stops working at once.

- A published image's preview and original are copied once, at publish, under `images/gallery/`
  (no lifecycle rule there: they live as long as the image is published), so a gallery page
  presigns stored keys and makes no storage request.
- A public collection's previews are share-style copies (library.objects.shared_copy: one name
  per day, expired by the bucket's lifecycle rule), made on read like a share link's.
"""

from __future__ import annotations

import hashlib

from chalicelib.library import objects
from chalicelib.library.shares import preview_key
from chalicelib.store.models import ImageModel

SECRET = "imagegen-gallery"  # names the copies; the bucket is private, reads are presigned
GALLERY = "images/gallery/"


def gallery_name(source: str) -> str:
    digest = hashlib.sha256(f"{SECRET}\x00{source}".encode()).hexdigest()[:40]
    return f"{GALLERY}{digest}.{source.rsplit('.', 1)[-1]}"


def _gallery_copy(source: str) -> str:
    name = gallery_name(source)
    if objects.head_size(name) is None:
        objects.copy_object(source, name)
    return name


def publish_copies(row: ImageModel) -> tuple[str, str]:
    """(preview, original) copies of a published image: a reduced JPEG (its thumbnail, or a
    preview made once) and the image itself."""
    return _gallery_copy(preview_key(row)), _gallery_copy(str(row.s3_key))


def preview_copy(row: ImageModel) -> str:
    """A public collection's preview of an item (a share-style copy of the day)."""
    return objects.shared_copy(preview_key(row), SECRET)


def url(key: str) -> str:
    """A presigned GET (signed locally: no request)."""
    return objects.url(key)


def forget(row: ImageModel) -> None:
    """Delete the image's public copies, the gallery's and the collections' (whichever exist;
    deleting what is gone is no error)."""
    sources = objects.keys_of(row)
    names = [gallery_name(key) for key in sources] + [name for key in sources for name in objects.shared_names(key, SECRET)]
    objects.delete(sorted(set(names)))
