"""Folder persistence (FolderModel): a workspace's folders in one partition.

A workspace has at most `library.rules.MAX_FOLDERS` folders, so reading all of them is one
bounded Query (a few hundred KB at most): paths and subtrees are computed from that read.
Structure changes (create, move, delete) also move the workspace's folder-tree version
(store.library_index.bump_folder_tree) in their transaction, so they are serialised.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.store import library_index, sync_log
from chalicelib.store.models import FolderModel
from chalicelib.store.transaction import Transaction


def all_folders(workspace_id: str) -> list[FolderModel]:
    """Every folder of the workspace, by id (ULIDs: oldest first), read consistently."""
    return list(FolderModel.query(workspace_id, consistent_read=True))


def get_folder(workspace_id: str, folder_id: str) -> FolderModel | None:
    try:
        return FolderModel.get(workspace_id, folder_id, consistent_read=True)
    except FolderModel.DoesNotExist:
        return None


def tree_version(workspace_id: str) -> int:
    return library_index.counter(workspace_id, library_index.FOLDER_TREE)


def create(folder: FolderModel, seen_tree: int) -> None:
    """Write a new folder under a parent that still exists, if the tree did not change."""
    txn = Transaction()
    txn.put("folder", folder, FolderModel.folder_id.does_not_exist())
    if folder.parent_id:
        txn.check(
            f"folder:{folder.parent_id}", FolderModel, folder.workspace_id, folder.parent_id, FolderModel.folder_id.exists()
        )
    library_index.bump_folder_tree(txn, folder.workspace_id, seen_tree)
    sync_log.touch_in(txn, folder.workspace_id, "folders", folder.folder_id, clock.now())  # offline sync
    txn.commit()


def rename_and_move(folder: FolderModel, name: str, parent_id: str | None, seen_tree: int) -> None:
    """Change the name and parent, if the folder, its new parent and the tree are as read."""
    txn = Transaction()
    actions = [FolderModel.name.set(name), FolderModel.parent_id.set(parent_id) if parent_id else FolderModel.parent_id.remove()]
    txn.update("folder", FolderModel(folder.workspace_id, folder.folder_id), actions, FolderModel.folder_id.exists())
    if parent_id:
        txn.check(f"folder:{parent_id}", FolderModel, folder.workspace_id, parent_id, FolderModel.folder_id.exists())
    library_index.bump_folder_tree(txn, folder.workspace_id, seen_tree)
    sync_log.touch_in(txn, folder.workspace_id, "folders", folder.folder_id, clock.now())
    txn.commit()


def delete_empty(workspace_id: str, folder_id: str, seen_tree: int) -> None:
    """Delete the folder if it holds no live image (its count, kept in the image transactions)."""
    txn = Transaction()
    condition = FolderModel.folder_id.does_not_exist() | (FolderModel.image_count == 0)
    txn.delete("folder", FolderModel(workspace_id, folder_id), condition)
    library_index.bump_folder_tree(txn, workspace_id, seen_tree)
    sync_log.touch_in(txn, workspace_id, "folders", folder_id, clock.now(), gone=True)  # the tombstone
    txn.commit()


def add_image_counts(txn: Transaction, workspace_id: str, deltas: dict[str, int]) -> None:
    """Folder image counts in the transaction that moves the images (the folder must exist)."""
    for folder_id, delta in sorted(deltas.items()):
        row = FolderModel(workspace_id, folder_id)
        txn.update(f"folder:{folder_id}", row, [FolderModel.image_count.add(delta)], FolderModel.folder_id.exists())


def new_folder(
    workspace_id: str, folder_id: str, *, name: str, parent_id: str | None, user_id: str, now: datetime
) -> FolderModel:
    return FolderModel(workspace_id, folder_id, name=name, parent_id=parent_id, user_id=user_id, image_count=0, created_at=now)


def scan_all(cursor: dict[str, Any] | None, limit: int) -> tuple[list[FolderModel], dict[str, Any] | None]:
    """Every folder of every workspace, a page at a time (one-off `backfill-sync`: a Scan)."""
    result = FolderModel.scan(limit=limit, page_size=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key
