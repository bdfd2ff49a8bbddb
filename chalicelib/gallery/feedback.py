"""What the public sends about a gallery image, without a key: likes and reports.

Each client address counts once per image (a marker row keyed by the address's hash, written in
the transaction that counts): a replayed like or report changes nothing and says so.

- Likes are counted on one of LIKE_SHARDS keys per image (one viral image is never one hot key);
  the "top" listing is re-ranked when a shard reaches a power of two (rules.rerank_due), so its
  order trails the true counts by at most half and costs O(log likes) rank writes per image.
- Reports (a reason from rules.REASONS, an optional note) add to the image's case, which platform
  admins list and decide (gallery.moderation).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, ids
from chalicelib.gallery import public, rules
from chalicelib.gallery.errors import GalleryImageNotFound
from chalicelib.gallery.listing import shown_in_gallery
from chalicelib.store import gallery as store
from chalicelib.store import gallery_reports as report_store
from chalicelib.store import images as image_store
from chalicelib.store.models import GalleryEntryModel
from chalicelib.store.transaction import Transaction, TransactionCancelled


@dataclass(frozen=True)
class Liked:
    image_id: str
    liked: bool  # False: this client had liked it already (counted once)
    likes: int


@dataclass(frozen=True)
class Reported:
    image_id: str
    reason: str
    counted: bool  # False: this client had reported it already (counted once)


def _in_gallery(image_id: str) -> GalleryEntryModel:
    entry = store.get_entry(image_id) if image_id.startswith("img_") and len(image_id) <= 64 else None
    row = image_store.get_image(str(entry.workspace_id), image_id) if entry is not None else None
    if entry is None or not shown_in_gallery(row):
        raise GalleryImageNotFound(image_id)
    return entry


def like(image_id: str, address: str) -> public.Metered[Liked]:
    window = public.admit("likes", address)
    entry = _in_gallery(image_id)
    shard = random.randrange(rules.LIKE_SHARDS)
    txn = Transaction()
    store.marker_in(txn, "like", image_id, rules.client_key(address))
    store.add_like_in(txn, image_id, shard)
    try:
        txn.commit()
    except TransactionCancelled:  # only the marker has a condition: liked already
        return public.Metered(Liked(image_id, False, store.likes(image_id)), window)
    counts = store.like_shards(image_id)
    total = sum(counts.values())
    if rules.rerank_due(counts.get(shard, 0)) and total != int(entry.likes or 0):
        store.move_rank(entry, total)  # False when a concurrent re-rank won: that one is as fresh
    return public.Metered(Liked(image_id, True, total), window)


def report(image_id: str, reason: str, note: str | None, address: str) -> public.Metered[Reported]:
    window = public.admit("reports", address)
    entry = _in_gallery(image_id)
    now = clock.now()
    try:
        _send_report(entry, reason, note, rules.client_key(address), now, reopen=True)
    except TransactionCancelled as cancelled:
        if "marker" in cancelled.failures:
            return public.Metered(Reported(image_id, reason, False), window)
        try:  # the case is hidden: counted, and it stays hidden
            _send_report(entry, reason, note, rules.client_key(address), now, reopen=False)
        except TransactionCancelled:  # the marker, written meanwhile by the same client
            return public.Metered(Reported(image_id, reason, False), window)
    return public.Metered(Reported(image_id, reason, True), window)


def _send_report(entry: GalleryEntryModel, reason: str, note: str | None, client: str, now: datetime, *, reopen: bool) -> None:
    image_id, workspace_id = str(entry.image_id), str(entry.workspace_id)
    txn = Transaction()
    store.marker_in(txn, "report", image_id, client)
    report_store.record_in(txn, image_id, workspace_id, reason, note, ids.new_id("rpt", now), now, reopen=reopen)
    txn.commit()
