"""Collections (albums): a workspace's images in the order its owner sets, with a cover, and a
visibility: private (the workspace), unlisted (anyone with the id) or public (also listed).

Rules (gallery.rules): at most MAX_ITEMS items; adding is idempotent (an item already there is a
success that changes nothing) and per item (another workspace's or a missing image is
`not_found`, one in the trash `conflict`); an order must list exactly the items. Members edit
their own collections; another member's, and showing one to the public (unlisted or public),
need `library:manage` (owners and admins), like publishing an image.

Every change is one write conditioned on the version read; a change that lost a race is read
and planned again (ATTEMPTS times, then 503 with nothing written).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.domain import DomainError
from chalicelib.gallery import media, public, rules
from chalicelib.gallery.errors import CollectionBusy, CollectionConflict, CollectionNotFound, NeedsManage, from_rule
from chalicelib.library.bulk import ItemResult
from chalicelib.library.errors import LibraryImageNotFound
from chalicelib.library.images import Actor, LibraryImage, shown, valid_image_id
from chalicelib.library.shares import shown_publicly
from chalicelib.store import collections as store
from chalicelib.store import images as image_store
from chalicelib.store.models import CollectionModel, ImageModel

ATTEMPTS = 10
UNSET: Any = object()
Plan = Callable[[CollectionModel], dict[str, Any] | None]  # the attributes to change; None: nothing


@dataclass(frozen=True)
class Collection:
    id: str
    workspace_id: str
    user_id: str
    name: str
    description: str | None
    visibility: str
    cover_image_id: str | None
    item_count: int
    created_at: datetime
    updated_at: datetime | None

    @property
    def creator(self) -> str:
        return rules.creator_handle(self.workspace_id)


def record(row: CollectionModel) -> Collection:
    return Collection(
        str(row.collection_id), str(row.workspace_id), str(row.user_id), str(row.name), row.description,
        str(row.visibility), row.cover_image_id, int(row.item_count or 0), row.created_at, row.updated_at,
    )  # fmt: skip


@dataclass(frozen=True)
class PublicItem:
    """An item as the public sees it: no workspace, the prompt only when the image is published."""

    id: str
    title: str | None
    prompt: str | None
    width: int
    height: int
    content_type: str
    preview_url: str


@dataclass(frozen=True)
class PublicCollection:
    collection: Collection
    cover_shown: bool
    items: list[PublicItem]
    next_offset: int | None


def _checked(action: Callable[[], Any]) -> Any:
    """Run a rule; its refusal becomes the domain kind (400, 404 or 409)."""
    try:
        return action()
    except rules.RuleError as error:
        raise from_rule(error) from None


def _read(workspace_id: str, collection_id: str) -> CollectionModel:
    row = store.get(collection_id) if ids.is_id(collection_id, "col") else None
    if row is None or row.workspace_id != workspace_id:
        raise CollectionNotFound(collection_id)
    return row


def _may_edit(actor: Actor, row: CollectionModel) -> None:
    if row.user_id != actor.user_id and not actor.manage:
        raise NeedsManage("this collection belongs to another member: editing it needs the 'library:manage' permission")


def _may_show(actor: Actor, visibility: str) -> None:
    if rules.needs_manage(visibility) and not actor.manage:
        raise NeedsManage(f"a {visibility} collection is shown to the public: that needs the 'library:manage' permission")


def _edit(actor: Actor, collection_id: str, plan: Plan) -> CollectionModel:
    """Read, plan and write, again when another edit came first."""
    for attempt in range(ATTEMPTS):
        row = _read(actor.workspace_id, collection_id)
        _may_edit(actor, row)
        changes = plan(row)
        if not changes:
            return row
        now = clock.now()
        if store.write(row, dict(changes), now):
            for name, value in {**changes, "updated_at": now, "version": int(row.version) + 1}.items():
                setattr(row, name, value)
            row.item_count = len(row.item_ids or [])
            return row
        time.sleep(random.uniform(0, min(0.3, 0.01 * 2**attempt)))
    raise CollectionBusy()


def _items(row: CollectionModel) -> rules.Items:
    return rules.Items(tuple(str(i) for i in row.item_ids or []), row.cover_image_id)


def _item_changes(before: rules.Items, after: rules.Items) -> dict[str, Any] | None:
    changes: dict[str, Any] = {}
    if after.ids != before.ids:
        changes["item_ids"] = list(after.ids)
    if after.cover != before.cover:
        changes["cover_image_id"] = after.cover
    return changes or None


# --- the workspace's use cases -----------------------------------------------------------------


def create_collection(actor: Actor, name: str, description: str | None, visibility: str) -> Collection:
    _may_show(actor, visibility)
    clean_name = _checked(lambda: rules.collection_name(name))
    text = _checked(lambda: rules.description(description))
    now = clock.now()
    row = CollectionModel(
        ids.new_id("col", now), workspace_id=actor.workspace_id, user_id=actor.user_id, name=clean_name,
        description=text, visibility=visibility, item_ids=[], item_count=0, version=1, created_at=now, updated_at=now,
    )  # fmt: skip
    store.create(row)
    return record(row)


def list_collections(workspace_id: str, limit: int, before: str | None) -> tuple[list[Collection], str | None]:
    rows, last = store.workspace_page(workspace_id, limit, before)
    return [record(row) for row in rows], last


def get_collection(workspace_id: str, collection_id: str) -> Collection:
    return record(_read(workspace_id, collection_id))


def update_collection(
    actor: Actor,
    collection_id: str,
    *,
    name: Any = UNSET,
    description: Any = UNSET,
    visibility: Any = UNSET,
    cover_image_id: Any = UNSET,
) -> Collection:
    """PATCH: name, description (None clears), visibility, cover (an item, or None)."""
    given: dict[str, Any] = {}
    if name is not UNSET:
        given["name"] = _checked(lambda: rules.collection_name(name))
    if description is not UNSET:
        given["description"] = _checked(lambda: rules.description(description))
    if visibility is not UNSET:
        _may_show(actor, visibility)
        given["visibility"] = visibility

    def plan(row: CollectionModel) -> dict[str, Any] | None:
        changes = {k: v for k, v in given.items() if getattr(row, k) != v}
        if cover_image_id is not UNSET and cover_image_id != row.cover_image_id:
            changes["cover_image_id"] = _checked(lambda: rules.set_cover(_items(row), cover_image_id)).cover
        return changes or None

    return record(_edit(actor, collection_id, plan))


def delete_collection(actor: Actor, collection_id: str) -> None:
    row = _read(actor.workspace_id, collection_id)
    _may_edit(actor, row)
    if not store.delete(row):
        raise CollectionNotFound(collection_id)


def add_items(actor: Actor, collection_id: str, image_ids: list[str]) -> tuple[Collection, list[ItemResult]]:
    """Add the workspace's images (per item: ok, not_found, or conflict when in the trash)."""
    _may_edit(actor, _read(actor.workspace_id, collection_id))
    rows = image_store.get_images(actor.workspace_id, [i for i in image_ids if valid_image_id(i)])
    errors: dict[str, DomainError] = {}
    for image_id in image_ids:
        row = rows.get(image_id)
        if row is None:
            errors[image_id] = LibraryImageNotFound(image_id)
        elif row.trashed_at is not None:
            errors[image_id] = CollectionConflict(f"image {image_id} is in the trash")
    addable = [i for i in image_ids if i not in errors]

    def plan(row: CollectionModel) -> dict[str, Any] | None:
        after, _ = _checked(lambda: rules.add(_items(row), addable))
        return _item_changes(_items(row), after)

    done = _edit(actor, collection_id, plan)
    results = [ItemResult(i, i not in errors, errors.get(i)) for i in image_ids]
    return record(done), results


def remove_item(actor: Actor, collection_id: str, image_id: str) -> Collection:
    def plan(row: CollectionModel) -> dict[str, Any] | None:
        return _item_changes(_items(row), _checked(lambda: rules.remove(_items(row), image_id)))

    return record(_edit(actor, collection_id, plan))


def reorder(actor: Actor, collection_id: str, image_ids: list[str]) -> Collection:
    """PUT order: exactly the items, each once; items whose image was purged may be left out."""

    def plan(row: CollectionModel) -> dict[str, Any] | None:
        items = _items(row)
        left_out = [i for i in items.ids if i not in set(image_ids)]
        present = image_store.get_images(actor.workspace_id, left_out) if left_out else {}
        gone = [i for i in left_out if i not in present]
        return _item_changes(items, _checked(lambda: rules.reorder(items, image_ids, gone)))

    return record(_edit(actor, collection_id, plan))


def list_items(workspace_id: str, collection_id: str, offset: int, limit: int) -> tuple[list[LibraryImage], int | None]:
    """The items in their order (trashed ones too, with `trashed_at`; purged ones left out)."""
    row = _read(workspace_id, collection_id)
    page = [str(i) for i in row.item_ids or []][offset : offset + limit]
    found = image_store.get_images(workspace_id, page)
    more = offset + limit < len(row.item_ids or [])
    return [shown(found[i]) for i in page if i in found], (offset + limit if more else None)


# --- what the public sees -----------------------------------------------------------------------


def _public_item(row: ImageModel) -> PublicItem:
    return PublicItem(
        str(row.image_id), row.title, row.prompt if row.visibility == rules.PUBLIC else None,
        int(row.width), int(row.height), "image/jpeg", media.url(media.preview_copy(row)),
    )  # fmt: skip


def public_collection(collection_id: str, address: str, offset: int, limit: int) -> public.Metered[PublicCollection]:
    """An unlisted or public collection's items (never trashed or hidden ones); private: 404."""
    window = public.admit("reads", address)
    row = store.get(collection_id) if ids.is_id(collection_id, "col") else None
    if row is None or row.visibility not in rules.SHOWN_PUBLICLY:
        raise CollectionNotFound(collection_id)
    every = [str(i) for i in row.item_ids or []]
    page = every[offset : offset + limit]
    wanted = page + ([row.cover_image_id] if row.cover_image_id else [])
    found = {k: v for k, v in image_store.get_images(str(row.workspace_id), wanted).items() if shown_publicly(v)}
    items = [_public_item(found[i]) for i in page if i in found]
    more = offset + limit < len(every)
    shown_cover = bool(row.cover_image_id and row.cover_image_id in found)
    return public.Metered(PublicCollection(record(row), shown_cover, items, offset + limit if more else None), window)


def public_collections(address: str, before: str | None, limit: int) -> public.Metered[tuple[list[Collection], str | None]]:
    """Public collections of every workspace, newest first: one query per shard, merged."""
    window = public.admit("reads", address)
    rows, last = store.public_page(limit, before)
    return public.Metered(([record(row) for row in rows], last), window)
