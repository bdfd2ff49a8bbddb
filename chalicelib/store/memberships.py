"""Memberships: which people belong to which workspaces, in which role, with which spend cap.

Where a role lives: a person's role in their *home* workspace (`UserModel.workspace_id`, where
they were first created) stays on the user row (`UserModel.role`), as before teams; in any other
workspace it is this row's `role`. One place per (person, workspace), never two:
`role_of` reads it and `change_in` writes it.

Every workspace also has one `#owners` row counting its owners; every change of an owner's role
or membership moves it under `owners >= 2` when it decreases, so the last owner can never be
demoted or removed, whatever runs concurrently.

A removal keeps the row (`removed_at`, no `person`: it leaves the by-person index) and is
conditioned on `keys_version`, which every key creation bumps: the removal revokes exactly the
keys it read, and a key created meanwhile makes it retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.store.models import MembershipModel, UserModel
from chalicelib.store.transaction import Transaction

OWNERS = "#owners"
MEMBER_PREFIX = "usr_"


@dataclass(frozen=True)
class MemberChange:
    """A role change (from `was`) and/or a monthly cap change (`cap_given`; None removes the cap)."""

    role: str | None = None
    was: str | None = None
    cap_given: bool = False
    credits_per_month: int | None = None


def new_row(workspace_id: str, user: UserModel, role: str, now: datetime) -> MembershipModel:
    """A membership of `user` in `workspace_id` (the role is kept on the user row for their home)."""
    home = user.workspace_id == workspace_id
    return MembershipModel(
        workspace_id, user.user_id, person=user.user_id, role=None if home else role, keys_version=0, joined_at=now
    )


def add_in(txn: Transaction, row: MembershipModel) -> None:
    """Add the membership; a removed one may be taken up again, a current one may not."""
    txn.put("membership", row, MembershipModel.user_id.does_not_exist() | MembershipModel.removed_at.exists(), return_old=True)


def add_owners_row_in(txn: Transaction, workspace_id: str, owners: int) -> None:
    txn.put("owners", MembershipModel(workspace_id, OWNERS, owners=owners), MembershipModel.user_id.does_not_exist())


def change_owners_in(txn: Transaction, workspace_id: str, delta: int) -> None:
    """Move the owner count; a decrease needs an owner to remain (label `owners` fails otherwise)."""
    condition = MembershipModel.owners >= 1 - delta if delta < 0 else None
    txn.update("owners", MembershipModel(workspace_id, OWNERS), [MembershipModel.owners.add(delta)], condition)


def get(workspace_id: str, user_id: str, *, consistent: bool = False) -> MembershipModel | None:
    """The current membership (None when there is none, or it was removed)."""
    try:
        row = MembershipModel.get(workspace_id, user_id, consistent_read=consistent)
    except MembershipModel.DoesNotExist:
        return None
    return None if row.removed_at is not None else row


def ensure_home(user: UserModel, now: datetime) -> MembershipModel:
    """The user's home membership, written now if they predate teams (idempotent)."""
    row = get(user.workspace_id, user.user_id, consistent=True)
    if row is not None:
        return row
    fresh = new_row(user.workspace_id, user, user.role, now)
    try:
        fresh.save(MembershipModel.user_id.does_not_exist())
    except PutError:
        pass  # written meanwhile (or removed: then `get` below says so)
    return get(user.workspace_id, user.user_id, consistent=True) or fresh


def of_workspace(workspace_id: str) -> list[MembershipModel]:
    """The workspace's current members, oldest first (ULID user ids)."""
    rows = MembershipModel.query(workspace_id, MembershipModel.user_id.startswith(MEMBER_PREFIX))
    return [row for row in rows if row.removed_at is None]


def of_person(user_id: str) -> list[MembershipModel]:
    """The workspaces a person belongs to (the index holds current memberships only)."""
    return list(MembershipModel.by_person.query(user_id))


def role_of(row: MembershipModel, user: UserModel) -> str:
    """The person's role in the row's workspace (see the module docstring for where it lives)."""
    return user.role if user.workspace_id == row.workspace_id else str(row.role)


def change_in(txn: Transaction, row: MembershipModel, user: UserModel, change: MemberChange, *, label: str = "role") -> None:
    """Write a role (where it lives, if it still is `change.was`, so the owner count moves exactly
    with the roles) and/or a monthly cap, one operation per item; the membership must be current."""
    current = MembershipModel.user_id.exists() & MembershipModel.removed_at.does_not_exist()
    actions: list[Any] = []
    if change.cap_given:
        cap = change.credits_per_month
        actions.append(MembershipModel.credits_per_month.remove() if cap is None else MembershipModel.credits_per_month.set(cap))
    if change.role is not None and user.workspace_id == row.workspace_id:
        txn.update(f"{label}:user", user, [UserModel.role.set(change.role)], UserModel.role == change.was)
    elif change.role is not None:
        actions.append(MembershipModel.role.set(change.role))
        current = current & (MembershipModel.role == change.was)
    if actions:
        txn.update(label, row, actions, current)
    else:
        txn.check(label, MembershipModel, row.workspace_id, row.user_id, current)


def bump_keys_in(txn: Transaction, workspace_id: str, user_id: str) -> None:
    """A key is being created for this member: they must still be one, and removal must notice."""
    txn.update(
        "membership",
        MembershipModel(workspace_id, user_id),
        [MembershipModel.keys_version.add(1)],
        MembershipModel.user_id.exists() & MembershipModel.removed_at.does_not_exist(),
    )


def remove_in(txn: Transaction, row: MembershipModel, user: UserModel, now: datetime) -> None:
    """End the membership, provided no key was created since `row` was read."""
    txn.update(
        "membership",
        row,
        [MembershipModel.removed_at.set(now), MembershipModel.person.remove(), MembershipModel.credits_per_month.remove()],
        MembershipModel.removed_at.does_not_exist() & (MembershipModel.keys_version == int(row.keys_version or 0)),
    )
    if user.workspace_id == row.workspace_id:
        txn.update("home_role", user, [UserModel.role.set("removed")])
