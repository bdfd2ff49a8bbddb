"""Publishing: an image in or out of the public gallery (owners and admins: `library:manage`).

Publishing writes the image's index rows first (idempotent), then, in ONE transaction, the
image's `visibility = public` (conditioned on the version read) with its gallery entry and its
"top" row: an image is public exactly when its entry exists. Unpublishing removes them in one
transaction, then the index rows and the public copies. Both are idempotent. Publishing again an
image that is published re-indexes it (after its title or tags were edited) without moving it.

Refused (409): an image in the trash, or one a platform admin hid. A job blocked by a provider's
safety filter never made an image, so nothing of it can reach the gallery.
"""

from __future__ import annotations

from chalicelib import clock, ids
from chalicelib.gallery import media, rules
from chalicelib.gallery.errors import NotPublishable
from chalicelib.library import rules as library_rules
from chalicelib.library.images import Actor, LibraryImage, get_image, read_image
from chalicelib.store import gallery as store
from chalicelib.store import images as image_store
from chalicelib.store.models import GalleryEntryModel, ImageModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

ATTEMPTS = 3


def facets_of(row: ImageModel) -> list[str]:
    words = library_rules.words_of(row.title, row.prompt)
    return rules.facets([str(t) for t in row.tags or []], words, row.provider, row.model)


def _publishable(row: ImageModel) -> None:
    if row.trashed_at is not None:
        raise NotPublishable(f"image {row.image_id} is in the trash: restore it first")
    if row.visibility == rules.HIDDEN:
        raise NotPublishable(f"image {row.image_id} was hidden by a moderator and cannot be published")


def publish(actor: Actor, image_id: str) -> LibraryImage:
    """In the gallery (again: re-indexed); 404 for another workspace's image, 409 when refused."""
    for _ in range(ATTEMPTS):
        row = read_image(actor.workspace_id, image_id)
        _publishable(row)
        entry = store.get_entry(image_id)
        done = _reindex(row, entry) if row.visibility == rules.PUBLIC and entry is not None else _first(actor, row, entry)
        if done:
            return get_image(actor.workspace_id, image_id)
    raise NotPublishable(f"image {image_id} kept changing concurrently; retry")


def _first(actor: Actor, row: ImageModel, stale: GalleryEntryModel | None) -> bool:
    """Publish: index rows, then the image and its entry together. False when the image changed."""
    now = clock.now()
    listed = ids.new_id("pub", now)
    likes = store.likes(str(row.image_id))  # likes survive unpublishing: a republished image keeps them
    preview, original = media.publish_copies(row)
    entry = GalleryEntryModel(
        str(row.image_id), workspace_id=str(row.workspace_id), listed_key=listed, facets=facets_of(row), likes=likes,
        rank_key=rules.rank_key(likes, listed), preview_key=preview, original_key=original,
        published_by=actor.user_id, published_at=now,
    )  # fmt: skip
    store.put_facets(str(row.image_id), listed, facets_of(row))
    txn = Transaction()
    image_store.update_in(txn, row, {"visibility": rules.PUBLIC})
    store.put_entry_in(txn, entry, stale)
    store.put_rank_in(txn, entry)
    try:
        txn.commit()
    except TransactionCancelled:
        store.delete_facets(str(row.image_id), listed, facets_of(row))  # this attempt's rows: nobody points at them
        return False
    return True


def _reindex(row: ImageModel, entry: GalleryEntryModel) -> bool:
    """Published already: bring its index rows up to the image's words and tags (same place)."""
    now_facets = facets_of(row)
    old = [str(f) for f in entry.facets or []]
    if now_facets == sorted(old):
        return True
    store.put_facets(str(row.image_id), str(entry.listed_key), set(now_facets) - set(old))
    txn = Transaction()
    store.set_facets_in(txn, entry, now_facets)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    store.delete_facets(str(row.image_id), str(entry.listed_key), set(old) - set(now_facets))
    return True


def unpublish(actor: Actor, image_id: str) -> LibraryImage:
    """Out of the gallery (already out: nothing changes)."""
    for _ in range(ATTEMPTS):
        row = read_image(actor.workspace_id, image_id)
        entry = store.get_entry(image_id)
        if row.visibility != rules.PUBLIC and entry is None:
            return get_image(actor.workspace_id, image_id)
        txn = Transaction()
        if row.visibility == rules.PUBLIC:
            image_store.update_in(txn, row, {"visibility": None})
        if entry is not None:
            withdraw_in(txn, entry)
        try:
            txn.commit()
        except TransactionCancelled:
            continue
        forget(row, entry)
        return get_image(actor.workspace_id, image_id)
    raise NotPublishable(f"image {image_id} kept changing concurrently; retry")


def withdraw_in(txn: Transaction, entry: GalleryEntryModel) -> None:
    """The entry and its top row leave the gallery in `txn` (index rows after the commit)."""
    store.delete_entry_in(txn, entry)
    store.delete_rank_in(txn, str(entry.image_id), entry.rank_key)


def forget(row: ImageModel, entry: GalleryEntryModel | None) -> None:
    """After an image left the public: its index rows and its public copies."""
    if entry is not None:
        store.delete_facets(str(entry.image_id), str(entry.listed_key), [str(f) for f in entry.facets or []])
    media.forget(row)
