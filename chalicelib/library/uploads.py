"""Uploads (showcases and other assets): a presigned POST, then a completion that proves the
object is a real image within limits, strips its metadata, makes a thumbnail and counts its
bytes against the plan's storage, exactly.

- The POST's policy pins the key, the Content-Type and the size range: S3 refuses anything else.
  The raw file lands in the images bucket (S3) even when the library store is S3-compatible:
  R2 has no presigned POST. What completion keeps (the clean original, the thumbnail) goes to the
  library store, and the raw file is deleted.
- Completion never trusts the declared type: Pillow must identify the bytes as that format,
  the pixel count is checked from the header before anything is decoded (and Pillow's own
  decompression-bomb guard is set to the same limit), and the pixels are re-encoded into a
  fresh image, so EXIF (GPS included), XMP and text chunks are left behind.
- The storage count is a conditional counter in the same transaction as the image row and the
  upload's pending → completed step: concurrent completions can never pass the quota together,
  and a completion runs once.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.library import changes, objects, rules
from chalicelib.library.errors import BadLibraryInput, InvalidImage, StorageQuotaExceeded, UploadNotFound
from chalicelib.library.images import Actor, LibraryImage, shown
from chalicelib.store import images as image_store
from chalicelib.store import library_index, uploads
from chalicelib.store.models import ImageModel, UploadModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


@dataclass(frozen=True)
class NewUpload:
    id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    thumbnail: bytes
    width: int
    height: int


def quota_of(actor: Actor) -> int:
    """The plan's storage, or the workspace's admin override (`limits.storage_bytes`)."""
    override = (actor.limits or {}).get("storage_bytes")
    return int(override) if isinstance(override, int) and override >= 0 else rules.storage_quota(actor.plan)


def start_upload(actor: Actor, filename: str, content_type: str, size: int) -> NewUpload:
    """A pending upload and the presigned POST for it (refused at once when it cannot fit)."""
    if content_type not in rules.UPLOAD_TYPES:
        raise BadLibraryInput(f"content_type must be one of {', '.join(rules.UPLOAD_TYPES)}", field="content_type")
    if not 1 <= size <= rules.MAX_UPLOAD_BYTES:
        raise BadLibraryInput(f"bytes must be between 1 and {rules.MAX_UPLOAD_BYTES}", field="bytes")
    used, quota = library_index.counter(actor.workspace_id, library_index.STORAGE_BYTES), quota_of(actor)
    if used + size > quota:
        raise StorageQuotaExceeded(used, quota, size)
    now = clock.now()
    upload_id = ids.new_id("upl", now)
    key = objects.staging_key(actor.workspace_id, upload_id)
    expires = now + rules.UPLOAD_TTL
    upload = uploads.new_upload(
        actor.workspace_id, upload_id, user_id=actor.user_id, s3_key=key, filename=filename,
        content_type=content_type, size=size, expires_at=expires, now=now,
    )  # fmt: skip
    uploads.create(upload)
    post = objects.presigned_post(key, content_type, size, int(rules.UPLOAD_TTL.total_seconds()))
    return NewUpload(upload_id, str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}, expires)


def _pending(actor: Actor, upload_id: str) -> UploadModel:
    upload = uploads.get_upload(actor.workspace_id, upload_id) if ids.is_id(upload_id, "upl") else None
    if upload is None or upload.user_id != actor.user_id and not actor.manage:
        raise UploadNotFound(f"upload {upload_id} not found")
    if upload.status == "pending" and upload.expires_at <= clock.now():
        raise UploadNotFound(f"upload {upload_id} expired before it was completed")
    return upload


def complete_upload(actor: Actor, upload_id: str) -> LibraryImage:
    """Check, clean and store the uploaded image; count it; once (a repeat returns the image)."""
    upload = _pending(actor, upload_id)
    if upload.status == "completed":
        return shown(_image_of(upload))
    raw = _raw_bytes(upload)
    clean = clean_image(raw, rules.UPLOAD_TYPES[str(upload.content_type)])
    image_id = "img_" + upload_id.split("_", 1)[1]
    fmt = rules.UPLOAD_TYPES[str(upload.content_type)]
    row = _image_row(upload, image_id, clean, fmt)
    objects.put(str(row.s3_key), clean.data, str(upload.content_type))
    objects.put(str(row.thumb_key), clean.thumbnail, "image/jpeg")
    library_index.put_facets(actor.workspace_id, changes.index_rows([row]))
    try:
        _commit(actor, upload, row)
    except TransactionCancelled as cancelled:
        return _after_refusal(actor, upload, row, cancelled)
    objects.delete([str(upload.s3_key)])
    return shown(row)


def _raw_bytes(upload: UploadModel) -> bytes:
    size = objects.head_size(str(upload.s3_key))
    if size is None:
        raise InvalidImage("nothing was uploaded yet: POST the file to the upload's url with its fields first")
    if size > int(upload.bytes):
        raise InvalidImage(f"the file has {size} bytes, more than the {int(upload.bytes)} declared")
    return objects.read(str(upload.s3_key), int(upload.bytes))


def _image_row(upload: UploadModel, image_id: str, clean: CleanImage, fmt: str) -> ImageModel:
    base = objects.library_key(str(upload.workspace_id), image_id, "")
    row = image_store.new_image(
        str(upload.workspace_id), image_id, job_id="", user_id=str(upload.user_id),
        s3_key=f"{base}original.{EXTENSIONS[fmt]}", width=clean.width, height=clean.height,
        content_type=str(upload.content_type), size_bytes=len(clean.data), source_image_id=None, kind="upload",
        created_at=clock.now(), title=_title(str(upload.filename)),
    )  # fmt: skip
    row.thumb_key = f"{base}thumb.jpg"
    row.counts_storage = True
    row.counted = True
    return row


def _title(filename: str) -> str | None:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].strip()
    return stem[: rules.MAX_TITLE_CHARS] or None


def _commit(actor: Actor, upload: UploadModel, row: ImageModel) -> None:
    txn = Transaction()
    uploads.complete_in(txn, upload, str(row.image_id))
    image_store.put_in(txn, row)
    library_index.add_storage(txn, actor.workspace_id, int(row.bytes), quota_of(actor))
    library_index.add_images_in(txn, actor.workspace_id, 1, int(row.bytes))
    txn.commit()


def _after_refusal(actor: Actor, upload: UploadModel, row: ImageModel, cancelled: TransactionCancelled) -> LibraryImage:
    if "storage" in cancelled.failures:
        objects.delete([str(row.s3_key), str(row.thumb_key)])
        used = library_index.counter(actor.workspace_id, library_index.STORAGE_BYTES)
        raise StorageQuotaExceeded(used, quota_of(actor), int(row.bytes))
    return shown(_image_of(_pending(actor, str(upload.upload_id))))  # completed by a concurrent call


def _image_of(upload: UploadModel) -> ImageModel:
    image = image_store.get_image(str(upload.workspace_id), str(upload.image_id))
    if image is None:  # completed, then deleted for good
        raise UploadNotFound(f"upload {upload.upload_id} was completed and its image deleted")
    return image


def clean_image(raw: bytes, expected: str) -> CleanImage:
    """The image re-encoded without metadata, and a JPEG thumbnail; InvalidImage otherwise."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = rules.MAX_UPLOAD_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=[expected]) as opened:
                _check_size(opened.size)
                opened.load()
                upright = ImageOps.exif_transpose(opened)
                return _encode(upright, expected)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage(f"the image has more than {rules.MAX_UPLOAD_PIXELS} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InvalidImage(f"the file is not a valid {expected} image") from None


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > rules.MAX_UPLOAD_PIXELS:
        raise InvalidImage(f"the image has more than {rules.MAX_UPLOAD_PIXELS} pixels")


def _encode(image: Any, fmt: str) -> CleanImage:
    """Fresh pixels (no info, no EXIF, no text chunks) in the same format, and the thumbnail."""
    from PIL import Image

    mode = image.mode if fmt != "JPEG" or image.mode in ("RGB", "L") else "RGB"
    pixels = image.convert(mode) if mode != image.mode else image
    fresh = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    if pixels.mode == "P":
        fresh.putpalette(pixels.getpalette() or [])
    out = io.BytesIO()
    fresh.save(out, format=fmt)
    thumb = fresh.convert("RGB")
    thumb.thumbnail((rules.THUMB_EDGE, rules.THUMB_EDGE))
    small = io.BytesIO()
    thumb.save(small, format="JPEG", quality=85)
    return CleanImage(out.getvalue(), small.getvalue(), fresh.width, fresh.height)
