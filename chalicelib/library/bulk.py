"""Bulk operations on up to 500 images: move, tag, untag, trash, restore, delete forever.

Each item succeeds or fails on its own (bad, foreign, duplicate ids, another member's image
without `library:manage`, an edit that kept racing). The writes are batched: the rows are read
with BatchGetItem (100 per request), the edits committed in transactions of up to 100 items
(library.changes), so a 500-image move costs about 5 reads and 5-6 transactions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.domain import DomainError
from chalicelib.library import changes, rules
from chalicelib.library.errors import BadLibraryInput, LibraryImageNotFound
from chalicelib.library.images import UNSET, Actor, check_folder, edit_change, may_edit, valid_image_id
from chalicelib.store import folders as folder_store
from chalicelib.store.models import ImageModel

ACTIONS = ("move", "tag", "untag", "trash", "restore", "delete_forever")


@dataclass(frozen=True)
class ItemResult:
    id: str
    ok: bool
    error: DomainError | None = None


def _tags(raw: list[str] | None) -> list[str]:
    if not raw:
        raise BadLibraryInput("tags are required for tag and untag", field="tags")
    try:
        return rules.normalise_tags(raw)
    except rules.RuleError as error:
        raise BadLibraryInput(str(error), field=error.field) from None


def _planner(actor: Actor, action: str, folder_id: str | None, tags: list[str]) -> changes.Planner:
    now = clock.now()

    @functools.cache
    def exists(folder: str) -> bool:
        return folder_store.get_folder(actor.workspace_id, folder) is not None

    def plan(image: ImageModel) -> changes.Change | None:
        may_edit(actor, image)
        current = list(image.tags or [])
        if action == "move":
            return edit_change(actor, image, folder_id=folder_id)
        if action == "tag":
            merged = list(dict.fromkeys([*current, *tags]))
            if len(merged) > rules.MAX_TAGS:
                raise BadLibraryInput(f"an image has at most {rules.MAX_TAGS} tags", field="tags")
            return edit_change(actor, image, tags=merged)
        if action == "untag":
            return edit_change(actor, image, tags=[t for t in current if t not in tags])
        if action == "trash":
            return changes.trash_change(image, now)
        if action == "restore":
            return changes.restore_change(image, exists)
        return changes.delete_change(image)

    return plan


def bulk(
    actor: Actor, action: str, image_ids: list[str], folder_id: str | None = None, tags: list[str] | None = None
) -> list[ItemResult]:
    """Apply `action` to each id; one result per id given, in order."""
    wanted: dict[str, Any] = {}
    results: list[ItemResult | None] = []
    for image_id in image_ids:
        if not valid_image_id(image_id):
            results.append(ItemResult(image_id, False, BadLibraryInput("not an image id", field="image_ids")))
        elif image_id in wanted:
            results.append(ItemResult(image_id, False, BadLibraryInput("duplicate id in this request", field="image_ids")))
        else:
            wanted[image_id] = None
            results.append(None)
    normalised = _tags(tags) if action in ("tag", "untag") else []
    if action == "move":
        check_folder(actor.workspace_id, folder_id)
    outcome = changes.run(actor.workspace_id, list(wanted), _planner(actor, action, folder_id, normalised), LibraryImageNotFound)
    done: list[ItemResult] = []
    for image_id, given in zip(image_ids, results, strict=True):
        if given is not None:
            done.append(given)
        elif image_id in outcome.failed:
            done.append(ItemResult(image_id, False, outcome.failed[image_id]))
        else:
            done.append(ItemResult(image_id, True))
    return done


__all__ = ["ACTIONS", "UNSET", "ItemResult", "bulk"]
