"""A folder's images in the order its owner sets.

`GET /v1/folders/{id}/images` lists them in that order; `PUT /v1/folders/{id}/order
{"image_ids", "after"?}` places up to 500 of them, in the order given, right after the image
`after` (absent or null: at the top). Everything else keeps its place, so moving one image
anywhere is one write, and a block is as many as it has images (in transactions of up to 100,
through library.changes, each conditioned on the image being unchanged since it was read).

Images arriving in a folder (a move, a restore without a place) are unplaced: they come after
the placed ones, newest first among themselves (library/ranks.py). Each item succeeds or fails
on its own, as in bulk operations: one not in this folder (moved or trashed meanwhile) fails
with `conflict` and leaves the others placed. Two reorders into the same gap at once may give
the same rank to two images; both stay listed (in either order) and the next reorder of either
separates them.
"""

from __future__ import annotations

from chalicelib.library import changes, ranks
from chalicelib.library.bulk import ItemResult
from chalicelib.library.errors import BadLibraryInput, EditConflict, FolderNotFound, LibraryImageNotFound
from chalicelib.library.images import Actor, LibraryImage, may_edit, shown, valid_image_id
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store.models import ImageModel

MAX_IMAGES = 500


def _folder(workspace_id: str, folder_id: str) -> str:
    if folder_store.get_folder(workspace_id, folder_id) is None:
        raise FolderNotFound(folder_id)
    return image_store.folder_key(workspace_id, folder_id)


def list_in_order(
    workspace_id: str, folder_id: str, limit: int, after: tuple[str, str] | None
) -> tuple[list[LibraryImage], tuple[str, str] | None]:
    """A page of the folder's live images in their set order (one Query, one BatchGetItem)."""
    _folder(workspace_id, folder_id)
    found, last = image_store.ordered_page(workspace_id, folder_id, after, limit)
    rows = image_store.get_images(workspace_id, [image_id for image_id, _ in found])
    return [shown(rows[i]) for i, _ in found if i in rows], last


def _anchor(workspace_id: str, key: str, after: str | None, moving: set[str]) -> str | None:
    """The rank right after which the block goes (None: the top)."""
    if after is None:
        return None
    if after in moving:
        raise BadLibraryInput("after must not be one of the images placed", field="after")
    row = image_store.get_image(workspace_id, after) if valid_image_id(after) else None
    if row is None:
        raise LibraryImageNotFound(after)
    if row.folder_key != key or not row.folder_rank:
        raise EditConflict(f"image {after} is not in this folder")
    return str(row.folder_rank)


def _next_rank(workspace_id: str, folder_id: str, low: str | None, moving: set[str]) -> str | None:
    """The first rank after `low` held by an image that is not being placed (None: the end)."""
    position: tuple[str, str] | None = None
    while True:
        page, position = image_store.ordered_page(workspace_id, folder_id, position, len(moving) + 1, above=low)
        for image_id, rank in page:
            if image_id not in moving:
                return rank
        if position is None:
            return None


def _ids(image_ids: list[str]) -> list[str]:
    if not image_ids or len(image_ids) > MAX_IMAGES:
        raise BadLibraryInput(f"image_ids takes 1 to {MAX_IMAGES} ids", field="image_ids")
    for image_id in image_ids:
        if not valid_image_id(image_id):
            raise BadLibraryInput(f"{image_id!r} is not an image id", field="image_ids")
    if len(set(image_ids)) != len(image_ids):
        raise BadLibraryInput("each image may be given once", field="image_ids")
    return image_ids


def reorder(actor: Actor, folder_id: str, image_ids: list[str], after: str | None) -> list[ItemResult]:
    """Place the images, in the order given, right after `after` (None: the top)."""
    key = _folder(actor.workspace_id, folder_id)
    moving = set(_ids(image_ids))
    low = _anchor(actor.workspace_id, key, after, moving)
    high = _next_rank(actor.workspace_id, folder_id, low, moving)
    try:
        wanted = dict(zip(image_ids, ranks.spread(low, high, len(image_ids)), strict=True))
    except ranks.RankError as error:
        raise EditConflict(f"{error}; place these images elsewhere or retry") from None

    def plan(image: ImageModel) -> changes.Change | None:
        may_edit(actor, image)
        if image.folder_key != key:
            raise EditConflict(f"image {image.image_id} is not in this folder")
        rank = wanted[str(image.image_id)]
        return None if image.folder_rank == rank else changes.Change(image, {"folder_rank": rank})

    outcome = changes.run(actor.workspace_id, image_ids, plan, LibraryImageNotFound)
    return [ItemResult(i, i not in outcome.failed, outcome.failed.get(i)) for i in image_ids]
