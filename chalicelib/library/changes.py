"""How library edits are written: plan a change per image (pure), then apply many at once.

Order of writes, which keeps every read exact without a scan:
1. new facet rows first (BatchWriteItem, idempotent): an image is never visible in its row
   without its index rows; an extra row is harmless because reads re-check the image row;
2. then TransactWriteItems in chunks of at most 100 items: each image's update conditioned on
   the `version` it was read at, the facet rows it leaves, and the counters (tag counts, folder
   image counts, storage bytes) summed per chunk. A chunk whose condition fails for one image
   is sent again without it; that image is read and planned again (or reported as a conflict);
3. for images deleted for good: their facet rows and S3 objects, after the commit (their ids
   are never reused, so a leftover row can only point at nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.domain import DomainError
from chalicelib.library import ranks, rules
from chalicelib.library.errors import EditConflict, FolderNotFound
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store import library_index, sync_log
from chalicelib.store.models import ImageModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

MAX_ITEMS = 100  # TransactWriteItems' limit
ATTEMPTS = 3


@dataclass
class Change:
    """What one image's edit writes. `attrs` maps ImageModel attributes to new values (None
    removes); the rest is derived from the image before and after."""

    image: ImageModel
    attrs: dict[str, Any] = field(default_factory=dict)
    delete: bool = False
    due_put: datetime | None = None
    due_delete: datetime | None = None

    @property
    def image_id(self) -> str:
        return str(self.image.image_id)

    def value(self, name: str) -> Any:
        return self.attrs[name] if name in self.attrs else getattr(self.image, name)

    def facts_before(self) -> rules.Facts:
        return facts_of(self.image)

    def facts_after(self) -> rules.Facts:
        return rules.Facts(
            trashed=self.value("trashed_at") is not None,
            tags=tuple(self.value("tags") or ()),
            words=tuple(rules.words_of(self.value("title"), self.value("prompt"))),
            provider=self.value("provider"),
            model=self.value("model"),
            kind=str(self.value("kind") or "generate"),
        )

    def new_facets(self) -> set[str]:
        return set() if self.delete else rules.facets(self.facts_after()) - rules.facets(self.facts_before())

    def old_facets(self) -> set[str]:
        return rules.facets(self.facts_before()) - (set() if self.delete else rules.facets(self.facts_after()))

    def tag_deltas(self) -> Counter[str]:
        deltas: Counter[str] = Counter()
        deltas.subtract(str(tag) for tag in self.image.tags or [])
        if not self.delete:
            deltas.update(self.value("tags") or [])
        return deltas

    def folder_deltas(self) -> Counter[str]:
        deltas: Counter[str] = Counter()
        if self.image.folder_key:
            deltas[str(self.image.folder_id)] -= 1
        if not self.delete and self.value("folder_key"):
            deltas[str(self.value("folder_id"))] += 1
        return deltas

    def storage_delta(self) -> int:
        return -int(self.image.bytes) if self.delete and self.image.counts_storage else 0

    def counted_delta(self) -> tuple[int, int]:
        """(images, bytes) the usage counters lose: a counted row deleted for good."""
        return (-1, -int(self.image.bytes)) if self.delete and self.image.counted else (0, 0)

    def size(self) -> int:
        """Items of its own in a transaction (the counters are shared by the chunk)."""
        own = 1 + (1 if self.delete else len(self.old_facets()))  # a deletion: its sync-log tombstone
        return own + (self.due_put is not None) + (self.due_delete is not None)


def facts_of(image: ImageModel) -> rules.Facts:
    return rules.Facts(
        trashed=image.trashed_at is not None,
        tags=tuple(str(tag) for tag in image.tags or ()),
        words=tuple(rules.words_of(image.title, image.prompt)),
        provider=image.provider,
        model=image.model,
        kind=str(image.kind or "generate"),
    )


def index_rows(rows: Iterable[ImageModel]) -> list[tuple[str, str]]:
    """(facet, image_id) of new images: what the worker indexes before settlement writes them."""
    return [(facet, str(row.image_id)) for row in rows for facet in sorted(rules.facets(facts_of(row)))]


Planner = Callable[[ImageModel], Change | None]  # None: nothing to change; raises DomainError


@dataclass
class Outcome:
    """Per image id: the row after the edit (None when deleted) or the error that stopped it."""

    done: dict[str, ImageModel | None] = field(default_factory=dict)
    failed: dict[str, DomainError] = field(default_factory=dict)


def run(workspace_id: str, image_ids: Iterable[str], plan: Planner, missing: Callable[[str], DomainError]) -> Outcome:
    """Read, plan and apply an edit to each image; re-read and re-plan what raced (ATTEMPTS)."""
    outcome = Outcome()
    pending = list(dict.fromkeys(image_ids))
    for _ in range(ATTEMPTS):
        if not pending:
            break
        rows = image_store.get_images(workspace_id, pending)
        changes = _plan_all(pending, rows, plan, missing, outcome)
        pending = _apply(workspace_id, changes, outcome)
    for image_id in pending:
        outcome.failed[image_id] = EditConflict(f"image {image_id} kept changing concurrently; retry")
    return outcome


def _plan_all(
    ids: list[str], rows: dict[str, ImageModel], plan: Planner, missing: Callable[[str], DomainError], outcome: Outcome
) -> list[Change]:
    changes: list[Change] = []
    for image_id in ids:
        row = rows.get(image_id)
        if row is None:
            outcome.failed[image_id] = missing(image_id)
            continue
        try:
            change = plan(row)
        except DomainError as error:
            outcome.failed[image_id] = error
            continue
        if change is None:
            outcome.done[image_id] = row
        else:
            changes.append(change)
    return changes


def _apply(workspace_id: str, changes: list[Change], outcome: Outcome) -> list[str]:
    """Write the changes; returns the ids that raced (to read and plan again)."""
    library_index.put_facets(workspace_id, ((f, c.image_id) for c in changes for f in sorted(c.new_facets())))
    raced: list[str] = []
    for chunk in _chunks(changes):
        raced.extend(_commit_chunk(workspace_id, chunk, outcome))
    gone = [c for c in changes if c.delete and c.image_id in outcome.done]
    if gone:
        _forget(workspace_id, gone)
    return raced


def _counter_keys(change: Change) -> set[str]:
    keys = {f"tag:{t}" for t, d in change.tag_deltas().items() if d}
    keys |= {f"folder:{f}" for f, d in change.folder_deltas().items() if d}
    keys |= {"usage:images", "usage:image_bytes"} if change.counted_delta()[0] else set()
    return keys | ({"storage"} if change.storage_delta() else set())


def _chunks(changes: list[Change]) -> Iterable[list[Change]]:
    """Changes in groups whose items (their own plus the distinct counters) fit one transaction."""
    chunk: list[Change] = []
    own, counters = 0, set[str]()
    for change in changes:
        keys = _counter_keys(change)
        if chunk and own + change.size() + len(counters | keys) > MAX_ITEMS:
            yield chunk
            chunk, own, counters = [], 0, set()
        chunk.append(change)
        own += change.size()
        counters |= keys
    if chunk:
        yield chunk


def _commit_chunk(workspace_id: str, chunk: list[Change], outcome: Outcome) -> list[str]:
    """Commit a chunk; what failed its condition is left out and the rest committed again."""
    raced: list[str] = []
    while chunk:
        try:
            _transaction(workspace_id, chunk).commit()
        except TransactionCancelled as cancelled:
            chunk = _without_failed(chunk, cancelled, outcome, raced)
            continue
        for change in chunk:
            outcome.done[change.image_id] = None if change.delete else _after(change)
        break
    return raced


def _without_failed(chunk: list[Change], cancelled: TransactionCancelled, outcome: Outcome, raced: list[str]) -> list[Change]:
    keep: list[Change] = []
    for change in chunk:
        folders_gone = [
            f for f in change.folder_deltas() if f"folder:{f}" in cancelled.failures and change.folder_deltas()[f] > 0
        ]
        if folders_gone:
            outcome.failed[change.image_id] = FolderNotFound(folders_gone[0], field="folder_id")
        elif f"img:{change.image_id}" in cancelled.failures:
            raced.append(change.image_id)
        else:
            keep.append(change)
    if len(keep) == len(chunk):  # a failure no single image explains (a counter row): all race
        raced.extend(c.image_id for c in chunk)
        return []
    return keep


def _transaction(workspace_id: str, chunk: list[Change]) -> Transaction:
    txn = Transaction()
    tags: Counter[str] = Counter()
    folders: Counter[str] = Counter()
    storage, counted, counted_bytes = 0, 0, 0
    for change in chunk:
        if change.delete:
            image_store.delete_in(txn, change.image)
            sync_log.touch_in(txn, workspace_id, "images", change.image_id, clock.now(), gone=True)  # offline sync
        else:
            image_store.update_in(txn, change.image, change.attrs)
            for n, facet in enumerate(sorted(change.old_facets())):
                library_index.delete_facet_in(txn, f"fac:{change.image_id}:{n}", workspace_id, facet, change.image_id)
        if change.due_put is not None:
            library_index.put_due_in(txn, "purge", workspace_id, change.image_id, change.due_put)
        if change.due_delete is not None:
            library_index.delete_due_in(txn, "purge", workspace_id, change.image_id, change.due_delete)
        tags.update(change.tag_deltas())
        folders.update(change.folder_deltas())
        storage += change.storage_delta()
        gone, gone_bytes = change.counted_delta()
        counted, counted_bytes = counted + gone, counted_bytes + gone_bytes
    library_index.add_tag_counts(txn, workspace_id, dict(tags))
    folder_store.add_image_counts(txn, workspace_id, {f: d for f, d in folders.items() if d})
    if storage:
        library_index.add_storage(txn, workspace_id, storage, None)
    if counted:
        library_index.add_images_in(txn, workspace_id, counted, counted_bytes)
    return txn


def _after(change: Change) -> ImageModel:
    """The row as the committed update left it (no second read)."""
    row = ImageModel.from_raw_data(change.image.serialize())
    for name, value in change.attrs.items():
        setattr(row, name, value)
    row.version = image_store.version_of(change.image) + 1
    return row


def _forget(workspace_id: str, gone: list[Change]) -> None:
    """The index rows and S3 objects of images deleted for good (after their rows are gone)."""
    from chalicelib.library import objects

    library_index.delete_facets(workspace_id, ((f, c.image_id) for c in gone for f in sorted(c.old_facets())))
    objects.delete([key for c in gone for key in objects.keys_of(c.image) if key])


def trash_change(image: ImageModel, now: datetime) -> Change | None:
    """To the trash: out of its folder's listing, purged TRASH_RETENTION later."""
    if image.trashed_at is not None:
        return None
    return Change(image, {"trashed_at": now, "folder_key": None}, due_put=now + rules.TRASH_RETENTION)


def restore_change(image: ImageModel, folder_exists: Callable[[str], bool]) -> Change | None:
    """Out of the trash, back into its folder when the folder still exists (else the root)."""
    if image.trashed_at is None:
        return None
    folder = image.folder_id if image.folder_id and folder_exists(str(image.folder_id)) else None
    attrs: dict[str, Any] = {"trashed_at": None, "folder_id": folder}
    attrs["folder_key"] = image_store.folder_key(image.workspace_id, folder) if folder else None
    if folder and not image.folder_rank:  # back in its place (kept in the trash), or unplaced
        attrs["folder_rank"] = ranks.default_rank(image.image_id)
    return Change(image, attrs, due_delete=image.trashed_at + rules.TRASH_RETENTION)


def delete_change(image: ImageModel) -> Change:
    """Gone for good: the row, its counters, then its index rows and objects."""
    due = image.trashed_at + rules.TRASH_RETENTION if image.trashed_at is not None else None
    return Change(image, delete=True, due_delete=due)
