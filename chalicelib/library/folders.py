"""Folders: nest, rename, move (never into their own subtree), delete (empty, or recursively,
trashing their images). Paths are computed from the workspace's folders, read in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.library import changes, rules
from chalicelib.library.errors import BadLibraryInput, EditConflict, FolderConflict, FolderNotFound
from chalicelib.library.images import Actor, may_edit
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store.models import FolderModel
from chalicelib.store.transaction import TransactionCancelled

UNSET: Any = object()


@dataclass(frozen=True)
class Folder:
    """A folder as shown: its path from the root and its count of live images."""

    id: str
    name: str
    parent_id: str | None
    path: str
    image_count: int
    created_at: datetime


class Tree:
    """The workspace's folders at one read, with the tree version that read saw."""

    def __init__(self, workspace_id: str) -> None:
        self.version = folder_store.tree_version(workspace_id)
        self.rows = {str(f.folder_id): f for f in folder_store.all_folders(workspace_id)}
        self.parents: dict[str, str | None] = {k: f.parent_id for k, f in self.rows.items()}
        self.names = {k: str(f.name) for k, f in self.rows.items()}

    def view(self, folder_id: str) -> Folder:
        row = self.rows[folder_id]
        path = rules.path_of(folder_id, self.parents, self.names)
        return Folder(folder_id, str(row.name), row.parent_id, path, int(row.image_count or 0), row.created_at)

    def get(self, folder_id: str, field: str | None = None) -> FolderModel:
        if folder_id not in self.rows:
            raise FolderNotFound(folder_id, field=field)
        return self.rows[folder_id]

    def subtree(self, folder_id: str) -> list[str]:
        """The folder and its descendants, deepest first."""
        found = [f for f in self.rows if folder_id in rules.ancestors(f, self.parents)]
        return sorted(found, key=lambda f: -len(rules.ancestors(f, self.parents)))


def _name(raw: str) -> str:
    try:
        return rules.folder_name(raw)
    except rules.RuleError as error:
        raise BadLibraryInput(str(error), field=error.field) from None


def _committed(action: Any) -> None:
    """A structure change that lost a race with another one: 409, read the tree again."""
    try:
        action()
    except TransactionCancelled as cancelled:
        parents = [label.split(":", 1)[1] for label in cancelled.failures if label.startswith("folder:")]
        if parents:
            raise FolderNotFound(parents[0], field="parent_id") from None
        raise FolderConflict("the folders changed concurrently; read them again and retry") from None


def create_folder(actor: Actor, name: str, parent_id: str | None, folder_id: str | None = None) -> Folder:
    """A new folder; `folder_id` is the id an offline client chose (a `fld_` ULID, mobile/sync.py)."""
    tree = Tree(actor.workspace_id)
    if parent_id is not None:
        tree.get(parent_id, "parent_id")
    if len(tree.rows) >= rules.MAX_FOLDERS:
        raise FolderConflict(f"a workspace has at most {rules.MAX_FOLDERS} folders")
    if len(rules.ancestors(parent_id, tree.parents)) + 1 > rules.MAX_FOLDER_DEPTH:
        raise FolderConflict(f"folders nest at most {rules.MAX_FOLDER_DEPTH} deep")
    folder_id = folder_id or ids.new_id("fld")
    folder = folder_store.new_folder(
        actor.workspace_id, folder_id, name=_name(name), parent_id=parent_id, user_id=actor.user_id, now=clock.now()
    )
    _committed(lambda: folder_store.create(folder, tree.version))
    tree.rows[str(folder.folder_id)] = folder
    tree.parents[str(folder.folder_id)], tree.names[str(folder.folder_id)] = parent_id, str(folder.name)
    return tree.view(str(folder.folder_id))


def list_folders(workspace_id: str, parent_id: str | None, after: str | None, limit: int) -> tuple[list[Folder], str | None]:
    """Children of `parent_id` (the root's when None), oldest first by id."""
    tree = Tree(workspace_id)
    if parent_id is not None:
        tree.get(parent_id, "parent_id")
    children = sorted(f for f, p in tree.parents.items() if p == parent_id and (after is None or f > after))
    page = children[:limit]
    return [tree.view(f) for f in page], (page[-1] if len(children) > limit else None)


def get_folder(workspace_id: str, folder_id: str) -> Folder:
    tree = Tree(workspace_id)
    tree.get(folder_id)
    return tree.view(folder_id)


def update_folder(actor: Actor, folder_id: str, name: Any = UNSET, parent_id: Any = UNSET) -> Folder:
    """Rename and/or move; a move into itself or its own subtree is 409 `conflict`."""
    tree = Tree(actor.workspace_id)
    row = tree.get(folder_id)
    _may_edit_folder(actor, row)
    new_name = _name(name) if name is not UNSET else str(row.name)
    new_parent = parent_id if parent_id is not UNSET else row.parent_id
    if new_parent is not None:
        tree.get(new_parent, "parent_id")
    if not rules.move_allowed(folder_id, new_parent, tree.parents):
        raise FolderConflict("a folder cannot move into itself or its own subtree", field="parent_id")
    if rules.depth_after_move(folder_id, new_parent, tree.parents) > rules.MAX_FOLDER_DEPTH:
        raise FolderConflict(f"folders nest at most {rules.MAX_FOLDER_DEPTH} deep", field="parent_id")
    _committed(lambda: folder_store.rename_and_move(row, new_name, new_parent, tree.version))
    tree.parents[folder_id], tree.names[folder_id] = new_parent, new_name
    row.name, row.parent_id = new_name, new_parent
    return tree.view(folder_id)


def _may_edit_folder(actor: Actor, row: FolderModel) -> None:
    if row.user_id != actor.user_id and not actor.manage:
        from chalicelib.library.errors import NotYourItem

        raise NotYourItem()


def delete_folder(actor: Actor, folder_id: str, recursive: bool) -> None:
    """Delete an empty folder (no images, no subfolders); recursive: trash the images of it and
    every subfolder, then delete them deepest first."""
    tree = Tree(actor.workspace_id)
    _may_edit_folder(actor, tree.get(folder_id))
    doomed = tree.subtree(folder_id)
    if not recursive and (len(doomed) > 1 or int(tree.rows[folder_id].image_count or 0) > 0):
        raise FolderConflict("the folder is not empty: delete with ?recursive=true to trash its images and subfolders")
    for n, doomed_id in enumerate(doomed):
        if recursive:
            _trash_contents(actor, doomed_id)
        _committed(lambda f=doomed_id, v=tree.version + n: _delete_one(actor.workspace_id, f, v))


def _delete_one(workspace_id: str, folder_id: str, version: int) -> None:
    try:
        folder_store.delete_empty(workspace_id, folder_id, version)
    except TransactionCancelled as cancelled:
        if "folder" in cancelled.failures:
            raise FolderConflict("the folder received images meanwhile; retry") from None
        raise


def _trash_contents(actor: Actor, folder_id: str) -> None:
    """Trash every live image of the folder (its index is read until empty)."""
    now = clock.now()

    def plan(image: Any) -> changes.Change | None:
        may_edit(actor, image)
        return changes.trash_change(image, now)

    high, seen = "img_~", set()
    while True:
        page, more = image_store.folder_page(actor.workspace_id, folder_id, "img_", high, 100)
        fresh = [image_id for image_id in page if image_id not in seen]
        if not fresh:
            return
        seen.update(fresh)
        outcome = changes.run(actor.workspace_id, fresh, plan, lambda _: EditConflict("gone"))
        refused = [e for e in outcome.failed.values() if not isinstance(e, EditConflict)]
        if refused:
            raise refused[0]
        if not more:
            return
        high = page[-1]
