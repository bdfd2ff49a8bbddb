"""Public gallery persistence: entries (GalleryEntryModel) and the sharded index, counters,
markers and client windows (GalleryIndexModel). The only code that touches those models.

Writes that publish or unpublish go through one Transaction with the image's own update, so an
image is public exactly when its entry exists; index rows are written before (idempotent batch
puts) and removed after, and every read re-checks them against the entry, so a stale row is
skipped, never shown. No key is written by every publish: facet and top rows are spread over
INDEX_SHARDS keys by image id, likes over LIKE_SHARDS keys per image.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.gallery import rules
from chalicelib.store.models import GalleryEntryModel, GalleryIndexModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

BATCH_GET = 100


@dataclass(frozen=True)
class IndexRow:
    """A row of a listing: its sort key and the image it points at."""

    sk: str
    image_id: str


# --- entries ----------------------------------------------------------------------------------


def get_entry(image_id: str) -> GalleryEntryModel | None:
    try:
        return GalleryEntryModel.get(image_id, consistent_read=True)
    except GalleryEntryModel.DoesNotExist:
        return None


def get_entries(image_ids: Iterable[str]) -> dict[str, GalleryEntryModel]:
    """Entries by image id, read in batches of 100 (eventually consistent: reads re-check)."""
    wanted = list(dict.fromkeys(image_ids))
    found: dict[str, GalleryEntryModel] = {}
    for start in range(0, len(wanted), BATCH_GET):
        for row in GalleryEntryModel.batch_get(wanted[start : start + BATCH_GET]):
            found[str(row.image_id)] = row
    return found


def _as_read(entry: GalleryEntryModel) -> Condition:
    """The entry is still the one read: the same publish and the same rank (a re-rank moves it)."""
    rank = GalleryEntryModel.rank_key == str(entry.rank_key) if entry.rank_key else GalleryEntryModel.rank_key.does_not_exist()
    return (GalleryEntryModel.listed_key == str(entry.listed_key)) & rank


def put_entry_in(txn: Transaction, entry: GalleryEntryModel, replaces: GalleryEntryModel | None) -> None:
    """Publish: a new entry, or one over a stale entry as it was read."""
    condition = GalleryEntryModel.image_id.does_not_exist() if replaces is None else _as_read(replaces)
    txn.put("entry", entry, condition)


def set_facets_in(txn: Transaction, entry: GalleryEntryModel, facets: list[str]) -> None:
    """Re-index: the entry's facets only (its rank may move meanwhile), while it is the same publish."""
    condition = GalleryEntryModel.listed_key == str(entry.listed_key)
    names: Any = list(facets)  # pynamodb types a list of UnicodeAttribute's values as the attributes
    txn.update("entry", GalleryEntryModel(entry.image_id), [GalleryEntryModel.facets.set(names)], condition)


def delete_entry_in(txn: Transaction, entry: GalleryEntryModel) -> None:
    """Out of the gallery, if the entry is as read (so its rank row named here is the current one)."""
    txn.delete("entry", GalleryEntryModel(entry.image_id), _as_read(entry))


def put_rank_in(txn: Transaction, entry: GalleryEntryModel) -> None:
    shard = rules.shard_of(str(entry.image_id), rules.INDEX_SHARDS)
    txn.put("rank", GalleryIndexModel(f"top#{shard}", str(entry.rank_key), image_id=str(entry.image_id)))


def delete_rank_in(txn: Transaction, image_id: str, rank: str | None, label: str = "old_rank") -> None:
    if rank:
        txn.delete(label, GalleryIndexModel(f"top#{rules.shard_of(image_id, rules.INDEX_SHARDS)}", rank))


def move_rank(entry: GalleryEntryModel, likes: int) -> bool:
    """Re-rank an entry at `likes`: its entry, new top row and old top row in one transaction,
    conditioned on the rank it was read with. False when it changed meanwhile (or unpublished)."""
    new_key = rules.rank_key(likes, str(entry.listed_key))
    txn = Transaction()
    condition = (
        GalleryEntryModel.rank_key == str(entry.rank_key) if entry.rank_key else GalleryEntryModel.rank_key.does_not_exist()
    )
    actions = [GalleryEntryModel.likes.set(likes), GalleryEntryModel.rank_key.set(new_key)]
    txn.update("entry", GalleryEntryModel(entry.image_id), actions, condition & GalleryEntryModel.image_id.exists())
    shard = rules.shard_of(str(entry.image_id), rules.INDEX_SHARDS)
    txn.put("rank", GalleryIndexModel(f"top#{shard}", new_key, image_id=str(entry.image_id)))
    delete_rank_in(txn, str(entry.image_id), entry.rank_key)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


# --- facet rows -------------------------------------------------------------------------------


def put_facets(image_id: str, listed_key: str, facets: Iterable[str]) -> None:
    """The image's rows in the listings (batch puts, idempotent; before the entry is written)."""
    shard = rules.shard_of(image_id, rules.INDEX_SHARDS)
    with GalleryIndexModel.batch_write() as batch:
        for facet in facets:
            batch.save(GalleryIndexModel(rules.facet_pk(facet, shard), listed_key, image_id=image_id))


def delete_facets(image_id: str, listed_key: str, facets: Iterable[str]) -> None:
    """Rows no entry points at any more (after the entry changed): reads skip them meanwhile."""
    shard = rules.shard_of(image_id, rules.INDEX_SHARDS)
    with GalleryIndexModel.batch_write() as batch:
        for facet in facets:
            batch.delete(GalleryIndexModel(rules.facet_pk(facet, shard), listed_key))


def _shard_rows(pk: str, low: str | None, before: str | None, limit: int) -> tuple[list[IndexRow], bool]:
    """Rows from `low` (inclusive) to `before` (exclusive), highest first: one Query (BETWEEN is
    inclusive, so one more row is read and `before` itself dropped)."""
    key: Condition | None
    if low is not None and before is not None:
        key = GalleryIndexModel.sk.between(low, before)
    elif low is not None:
        key = GalleryIndexModel.sk >= low
    else:
        key = GalleryIndexModel.sk < before if before else None
    result = GalleryIndexModel.query(pk, key, scan_index_forward=False, limit=limit + (low is not None and before is not None))
    rows = [IndexRow(str(row.sk), str(row.image_id)) for row in result if row.sk != before]
    return rows[:limit], result.last_evaluated_key is not None or len(rows) > limit


def listing_rows(pks: list[str], low: str | None, before: str | None, limit: int) -> list[tuple[list[IndexRow], bool]]:
    """One Query per shard key, in parallel: each shard's rows from `low` to below `before`, highest first."""
    with ThreadPoolExecutor(len(pks)) as pool:
        return list(pool.map(lambda pk: _shard_rows(pk, low, before, limit), pks))


def facet_pks(facet: str) -> list[str]:
    return [rules.facet_pk(facet, shard) for shard in range(rules.INDEX_SHARDS)]


def top_pks() -> list[str]:
    return [f"top#{shard}" for shard in range(rules.INDEX_SHARDS)]


# --- likes, markers, client windows -----------------------------------------------------------


def marker_in(txn: Transaction, kind: str, image_id: str, client: str) -> None:
    """`client` does `kind` (like, report) to the image once: the transaction is cancelled on
    this label ("marker") when it had already."""
    txn.put("marker", GalleryIndexModel(f"{kind}#{image_id}#{client}", "-"), GalleryIndexModel.pk.does_not_exist())


def add_like_in(txn: Transaction, image_id: str, shard: int) -> None:
    txn.update("count", GalleryIndexModel(f"likes#{image_id}#{shard}", "n"), [GalleryIndexModel.n.add(1)])


def like_shards(image_id: str) -> dict[int, int]:
    """The image's like counts by shard (one BatchGetItem, consistent: a re-rank reads them)."""
    keys = [(f"likes#{image_id}#{k}", "n") for k in range(rules.LIKE_SHARDS)]
    return {int(row.pk.rsplit("#", 1)[1]): int(row.n or 0) for row in GalleryIndexModel.batch_get(keys, consistent_read=True)}


def likes(image_id: str) -> int:
    """The image's likes: the sum of its shards."""
    return sum(like_shards(image_id).values())


def count_hit(scope: str, client: str, window: int, limit: int, expires_at: int) -> int | None:
    """Count one request in the client's window (one conditional write); the new count, or None
    when the window is already full."""
    row = GalleryIndexModel(f"rate#{scope}#{client}", str(window))
    try:
        row.update(
            actions=[GalleryIndexModel.n.add(1), GalleryIndexModel.expires_at.set(expires_at)],
            condition=GalleryIndexModel.n.does_not_exist() | (GalleryIndexModel.n < limit),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return None
    return int(row.n or 0)
