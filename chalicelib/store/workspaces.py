"""Workspaces: the item, its creation with the wallet, limits and bans, and the admin listing.

The listing reads the `listing` index (`list_shard`, `workspace_id`): LISTING_SHARDS partitions
merged newest first by id in store/sharded_listing.py (the status, plan and search filters are
filter expressions: a page runs at most MAX_ROUNDS rounds of at most LISTING_SHARDS queries,
whatever the table's size, and may come back short with a `next` position when matches are rare).

Every workspace gets its shard when it is created. Workspaces written before the index existed
have none (they are invisible to the listing) until `backfill_listing()` runs once
(`python -m chalicelib.ops backfill-workspace-listing`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from chalicelib.store import sharded_listing
from chalicelib.store.models import LedgerEntryModel, WalletModel, WorkspaceModel
from chalicelib.store.transaction import Transaction

LISTING_SHARDS = 4


def listing_shard(workspace_id: str) -> str:
    """The listing shard of a workspace: fixed by its id, so a backfill finds the same one."""
    return f"ws#{zlib.crc32(workspace_id.encode('utf-8')) % LISTING_SHARDS}"


def _listing_attributes(workspace_id: str, name: str) -> dict[str, str]:
    return {"list_shard": listing_shard(workspace_id), "name_lower": name.lower(), "id_lower": workspace_id.lower()}


def new_workspace(workspace_id: str, name: str, plan: str, owner_user_id: str, now: datetime) -> WorkspaceModel:
    """An active workspace with no overrides, listed from the start."""
    listing = _listing_attributes(workspace_id, name)
    return WorkspaceModel(
        workspace_id,
        name=name,
        plan=plan,
        status="active",
        owner_user_id=owner_user_id,
        limits={},
        billing={},
        created_at=now,
        list_shard=listing["list_shard"],
        name_lower=listing["name_lower"],
        id_lower=listing["id_lower"],
    )


def add_new(txn: Transaction, workspace: WorkspaceModel, wallet: WalletModel, grant: LedgerEntryModel) -> None:
    """Create the workspace with its wallet and the entry that explains its first allowance;
    neither may exist yet."""
    txn.put("workspace", workspace, WorkspaceModel.workspace_id.does_not_exist())
    txn.put("wallet", wallet, WalletModel.workspace_id.does_not_exist())
    txn.put("grant", grant)


def get(workspace_id: str, *, consistent: bool = True) -> WorkspaceModel | None:
    try:
        return WorkspaceModel.get(workspace_id, consistent_read=consistent)
    except WorkspaceModel.DoesNotExist:
        return None


def set_limits_in(txn: Transaction, workspace_id: str, overrides: dict[str, Any]) -> None:
    """Replace the workspace's limit overrides (it must exist)."""
    txn.update(
        "workspace", WorkspaceModel(workspace_id), [WorkspaceModel.limits.set(overrides)], WorkspaceModel.workspace_id.exists()
    )


def set_banned_in(txn: Transaction, workspace: WorkspaceModel, banned: bool, reason: str) -> None:
    """Ban or unban the workspace; the flag is mirrored on its wallet, which is all admission
    reads, so a banned workspace is refused there too."""
    status = WorkspaceModel.status.set("banned" if banned else "active")
    why = WorkspaceModel.ban_reason.set(reason) if banned else WorkspaceModel.ban_reason.remove()
    txn.update("target", workspace, [status, why])
    txn.update("wallet", WalletModel(workspace.workspace_id), [WalletModel.banned.set(banned)], WalletModel.workspace_id.exists())


# --- the admin listing -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingFilter:
    """What the admin list narrows to: a status, a plan, a case-insensitive substring of the name
    or the id (empty: no filter)."""

    status: str | None = None
    plan: str | None = None
    query: str = ""

    def condition(self) -> Any:
        """The filter expression, or None when nothing filters."""
        parts = []
        if self.status:
            parts.append(WorkspaceModel.status == self.status)
        if self.plan:
            parts.append(WorkspaceModel.plan == self.plan)
        if self.query:
            text = self.query.lower()
            parts.append(WorkspaceModel.name_lower.contains(text) | WorkspaceModel.id_lower.contains(text))
        return reduce(lambda a, b: a & b, parts) if parts else None


def list_page(limit: int, before: str | None, where: ListingFilter) -> tuple[list[WorkspaceModel], str | None]:
    """Up to `limit` workspaces with ids below `before`, newest first, and where the next page
    starts (None on the last page). Without filters one round (LISTING_SHARDS queries) fills it."""
    listing = sharded_listing.Listing(WorkspaceModel, WorkspaceModel.listing, "workspace_id")
    return sharded_listing.page(listing, [f"ws#{n}" for n in range(LISTING_SHARDS)], limit, before, where.condition())


def backfill_listing() -> int:
    """Give every workspace written before the listing index its shard and search fields (a
    one-off scan for a deployed stage; new workspaces get them at creation). Returns how many."""
    done = 0
    for ws in WorkspaceModel.scan(WorkspaceModel.list_shard.does_not_exist()):
        actions = [
            getattr(WorkspaceModel, name).set(value) for name, value in _listing_attributes(ws.workspace_id, ws.name).items()
        ]
        ws.update(actions=actions, condition=WorkspaceModel.list_shard.does_not_exist())
        done += 1
    return done


# --- teams -------------------------------------------------------------------------------------


def set_owner_in(txn: Transaction, workspace_id: str, owner_user_id: str) -> None:
    """Name the workspace's owner of record (an ownership transfer)."""
    txn.update(
        "workspace",
        WorkspaceModel(workspace_id),
        [WorkspaceModel.owner_user_id.set(owner_user_id)],
        WorkspaceModel.workspace_id.exists(),
    )


def get_many(workspace_ids: list[str]) -> list[WorkspaceModel]:
    """Several workspaces at once (a person's few), in no particular order."""
    return list(WorkspaceModel.batch_get(workspace_ids)) if workspace_ids else []
