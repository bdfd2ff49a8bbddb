"""Share links to an image, a folder or a collection: `view` (previews) or `download`
(originals), an optional expiry, revocable at once; the public `GET /s/{token}` needs no key.

- The token is 256 random bits shown once in the link; only its SHA-256 is stored.
- A public read shows only the shared target: no ids (of the workspace, the images, the folder,
  the share), no prompt unless the share allows it, no other image, nothing from the trash and
  nothing a platform admin hid. A collection shows its items in its owner's order. Revoked,
  expired and unknown links are the same 404.
- Public reads are counted per client address in one-minute windows (one conditional write).
- Files are served through copies under `images/shared/`, named per link, object and day: a
  revoked link's copies are deleted at once, an expired link's when its expiry falls due (the
  purge), and the bucket's lifecycle rule expires every copy after SHARED_COPY_DAYS (live links
  copy again on their next read), so no copy outlives its link by more than those days.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.library import objects
from chalicelib.library.errors import BadLibraryInput, FolderNotFound, LibraryImageNotFound, ShareNotFound, ShareRateLimited
from chalicelib.library.images import Actor
from chalicelib.store import collections as collection_store
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store import shares as share_store
from chalicelib.store.models import ImageModel, ShareModel

PUBLIC_READS_PER_MINUTE = 60
HIDDEN = "hidden"  # ImageModel.visibility of an image a platform admin hid (gallery.rules.HIDDEN)
MAX_PUBLIC_ITEMS = 50
PREVIEW_EDGE = 1024


@dataclass(frozen=True)
class Share:
    row: ShareModel
    url: str | None  # only when just created: the token is never stored


@dataclass(frozen=True)
class PublicItem:
    title: str | None
    width: int
    height: int
    content_type: str
    prompt: str | None
    preview_url: str
    download_url: str | None


@dataclass(frozen=True)
class PublicShare:
    target_type: str
    name: str | None
    permission: str
    expires_at: datetime | None
    items: list[PublicItem]


def create_share(
    actor: Actor, target_type: str, target_id: str, permission: str, expires_at: datetime | None, show_prompt: bool, base_url: str
) -> Share:
    """A new link; the target must exist in the workspace (and not be in the trash)."""
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise BadLibraryInput("expires_at must be in the future", field="expires_at")
    _check_target(actor.workspace_id, target_type, target_id)
    token = secrets.token_urlsafe(32)
    row = ShareModel(
        actor.workspace_id, ids.new_id("shr", now), token_hash=share_store.token_hash(token), user_id=actor.user_id,
        target_type=target_type, target_id=target_id, permission=permission, show_prompt=show_prompt,
        expires_at=expires_at, created_at=now,
    )  # fmt: skip
    share_store.create(row)
    return Share(row, f"{base_url.rstrip('/')}/s/{token}")


def _check_target(workspace_id: str, target_type: str, target_id: str) -> None:
    if target_type == "image":
        image = image_store.get_image(workspace_id, target_id) if target_id.startswith("img_") else None
        if image is None or image.trashed_at is not None:
            raise LibraryImageNotFound(target_id)
    elif target_type == "folder":
        if folder_store.get_folder(workspace_id, target_id) is None:
            raise FolderNotFound(target_id, field="target.id")
    else:
        collection = collection_store.get(target_id) if ids.is_id(target_id, "col") else None
        if collection is None or collection.workspace_id != workspace_id:
            raise ShareNotFound(f"collection {target_id} not found", field="target.id")


def list_shares(workspace_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[Share], dict[str, Any] | None]:
    rows, last = share_store.newest(workspace_id, limit, cursor)
    return [Share(row, None) for row in rows], last


def revoke_share(actor: Actor, share_id: str) -> None:
    """Revoked at once; then its copies are deleted (a read racing the revocation may copy once
    more: the lifecycle rule takes that one)."""
    if not ids.is_id(share_id, "shr") or not share_store.revoke(actor.workspace_id, share_id, clock.now()):
        raise ShareNotFound(f"share {share_id} not found")
    share = share_store.get_share(actor.workspace_id, share_id)
    if share is not None:
        drop_copies(share)


def drop_copies(share: ShareModel) -> int:
    """Delete the copies the link may have made of its target's current images (each day's the
    lifecycle rule still keeps); returns how many names were deleted."""
    try:
        rows, _ = _target_rows(share)
    except ShareNotFound:  # the target is gone or in the trash: nothing to name (the rule takes them)
        return 0
    secret = str(share.token_hash)
    sources = [key for row in rows for key in (_preview_source(row), str(row.s3_key))]
    names = [name for key in sources for name in objects.shared_names(key, secret)]
    objects.delete(names)
    return len(names)


def expire_copies(workspace_id: str, share_id: str, now: datetime) -> bool:
    """The purge's step for a link whose expiry fell due: its copies go."""
    share = share_store.get_share(workspace_id, share_id)
    if share is None or share.expires_at is None or share.expires_at > now:
        return False
    drop_copies(share)
    return True


def open_share(token: str, client: str) -> PublicShare:
    """What a public link shows, if it is live; 404 otherwise; 429 past the client's rate."""
    _count(client)
    share = share_store.by_token(token) if 20 <= len(token) <= 100 else None
    now = clock.now()
    if share is None or share.revoked_at is not None or (share.expires_at is not None and share.expires_at <= now):
        raise ShareNotFound("this link does not exist, was revoked or has expired")
    rows, name = _target_rows(share)
    return PublicShare(str(share.target_type), name, str(share.permission), share.expires_at, [_item(share, row) for row in rows])


def _count(client: str) -> None:
    now = clock.now().timestamp()
    window = int(now // 60)
    key = hashlib.sha256(client.encode("utf-8")).hexdigest()[:32]
    if not share_store.count_hit(key, window, PUBLIC_READS_PER_MINUTE, (window + 2) * 60):
        retry = max(1, int((window + 1) * 60 - now))
        raise ShareRateLimited("too many reads of shared links from this address", scope="client", retry_after=retry)


def shown_publicly(row: ImageModel) -> bool:
    """Neither in the trash nor hidden by a platform admin (gallery moderation)."""
    return row.trashed_at is None and row.visibility != HIDDEN


def _target_rows(share: ShareModel) -> tuple[list[ImageModel], str | None]:
    workspace_id = str(share.workspace_id)
    gone = ShareNotFound("this link does not exist, was revoked or has expired")
    if share.target_type == "image":
        image = image_store.get_image(workspace_id, str(share.target_id))
        if image is None or not shown_publicly(image):
            raise gone
        return [image], image.title
    if share.target_type == "collection":
        collection = collection_store.get(str(share.target_id))
        if collection is None or collection.workspace_id != workspace_id:
            raise gone
        found = [str(i) for i in collection.item_ids or []][:MAX_PUBLIC_ITEMS]
        rows = image_store.get_images(workspace_id, found)
        return [rows[i] for i in found if i in rows and shown_publicly(rows[i])], str(collection.name)
    folder = folder_store.get_folder(workspace_id, str(share.target_id))
    if folder is None:
        raise gone
    placed, _ = image_store.ordered_page(workspace_id, str(share.target_id), None, MAX_PUBLIC_ITEMS)  # the owner's order
    found = [image_id for image_id, _ in placed]
    rows = image_store.get_images(workspace_id, found)
    live = [rows[i] for i in found if i in rows and shown_publicly(rows[i]) and rows[i].folder_id == share.target_id]
    return live, str(folder.name)


def _item(share: ShareModel, row: ImageModel) -> PublicItem:
    download = share.permission == "download"
    stem = re.sub(r"[^A-Za-z0-9._ -]", "_", row.title or "image")[:80]
    name = f"{stem}.{str(row.s3_key).rsplit('.', 1)[-1]}"
    return PublicItem(
        title=row.title,
        width=int(row.width),
        height=int(row.height),
        content_type=str(row.content_type),
        prompt=row.prompt if share.show_prompt else None,
        preview_url=objects.url(objects.shared_copy(preview_key(row), str(share.token_hash))),
        download_url=objects.url(objects.shared_copy(str(row.s3_key), str(share.token_hash)), download_name=name)
        if download
        else None,
    )


def preview_key(row: ImageModel) -> str:
    """A reduced JPEG (never the original) for `view` links: the thumbnail, or a preview made
    once under a deterministic key."""
    key = _preview_source(row)
    if row.thumb_key or objects.head_size(key) is not None:
        return key
    from PIL import Image

    with Image.open(io.BytesIO(objects.read(str(row.s3_key), 64 * 1024 * 1024))) as original:
        preview = original.convert("RGB")
        preview.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
        out = io.BytesIO()
        preview.save(out, format="JPEG", quality=85)
    objects.put(key, out.getvalue(), "image/jpeg")
    return key


def _preview_source(row: ImageModel) -> str:
    """What a `view` link shows of an image: its thumbnail, or its preview's deterministic key."""
    if row.thumb_key:
        return str(row.thumb_key)
    return objects.library_key(str(row.workspace_id), str(row.image_id), "preview.jpg")
