"""Workspaces: the item, its creation with the wallet, limits and bans, and the admin listing.

The listing reads the `listing` index (`list_shard`, `workspace_id`): one query per shard, in
parallel, newest first, merged by id (ULIDs sort by creation). The status, plan and search
filters are filter expressions, so a shard's query may evaluate items it does not return; a
page therefore runs at most MAX_ROUNDS rounds of at most LISTING_SHARDS queries, whatever the
table's size, and may come back short with a `next` position when matches are rare.

Every workspace gets its shard when it is created. Workspaces written before the index existed
have none (they are invisible to the listing) until `backfill_listing()` runs once
(`python -m chalicelib.ops backfill-workspace-listing`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from typing import Any

from chalicelib.store.models import LedgerEntryModel, WalletModel, WorkspaceModel
from chalicelib.store.transaction import Transaction

LISTING_SHARDS = 4
MAX_ROUNDS = 3  # queries per shard and page at most, when filters leave a round short
FILTERED_WINDOW = 100  # items a shard's query evaluates per round when filters apply


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


@dataclass
class _Shard:
    """One shard's progress through a page: where its next query starts, how far it has read."""

    name: str
    start: dict[str, Any] | None = None
    frontier: str | None = None  # the id of the last item its queries evaluated
    done: bool = False
    found: list[WorkspaceModel] = field(default_factory=list)


def _read(shard: _Shard, before: str | None, condition: Any, window: int) -> None:
    """One Query on the shard (exactly one request: the page iterator, not the item iterator,
    which would keep paging while a filter drops items)."""
    key = WorkspaceModel.workspace_id < before if before else None
    result = WorkspaceModel.listing.query(
        shard.name, key, filter_condition=condition, scan_index_forward=False, page_size=window, last_evaluated_key=shard.start
    )
    page = next(result.page_iter)
    shard.found += [WorkspaceModel.from_raw_data(raw) for raw in page.get("Items", [])]
    shard.start = result.page_iter.last_evaluated_key
    shard.done = shard.start is None
    if shard.start is not None:
        shard.frontier = shard.start["workspace_id"]["S"]


def _edge(shards: Iterable[_Shard]) -> str | None:
    """Every item at or above this id has been evaluated in every shard (None: all of them)."""
    frontiers = [s.frontier for s in shards if not s.done and s.frontier is not None]
    return max(frontiers) if frontiers else None


def list_page(limit: int, before: str | None, where: ListingFilter) -> tuple[list[WorkspaceModel], str | None]:
    """Up to `limit` workspaces with ids below `before`, newest first, and where the next page
    starts (None on the last page). Without filters one round (LISTING_SHARDS queries) fills it."""
    condition = where.condition()
    window = limit if condition is None else max(limit, FILTERED_WINDOW)
    shards = [_Shard(f"ws#{n}") for n in range(LISTING_SHARDS)]
    with ThreadPoolExecutor(LISTING_SHARDS) as pool:
        for _ in range(MAX_ROUNDS):
            list(pool.map(lambda s: _read(s, before, condition, window), [s for s in shards if not s.done]))
            edge = _edge(shards)
            ready = sorted(
                (w for s in shards for w in s.found if edge is None or w.workspace_id >= edge),
                key=lambda w: w.workspace_id,
                reverse=True,
            )
            if edge is None or len(ready) >= limit:
                break
    page = ready[:limit]
    if len(ready) > limit:
        return page, page[-1].workspace_id
    return page, edge


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
