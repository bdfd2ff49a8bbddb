"""Members of a workspace: listing, roles, spend caps, removal, ownership, and the caller's workspaces.

The rules (DESIGN.md "Teams: the permission matrix"; the routes check `members:write` first):
- admins change roles below owner; touching an owner (demoting, removing, making one) needs
  `workspace:own`, which only owners have;
- at least one owner always remains (the `#owners` counter, store/memberships.py);
- removing a member revokes their personal keys in that workspace in the same transaction
  (service keys belong to the workspace and stay); `dry_run` says which keys would stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, ids
from chalicelib.accounting.admission import SpendCaps
from chalicelib.store import keys, memberships, users, workspaces
from chalicelib.store.audit import audit_in
from chalicelib.store.models import ApiKeyModel, MembershipModel, UserModel, WorkspaceModel
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.tenancy import permissions
from chalicelib.tenancy.auth import Principal
from chalicelib.tenancy.errors import InvalidChange, LastOwner, MemberChanged, MemberNotFound

MAX_KEYS_IN_REMOVAL = 90  # a transaction holds 100 items; more keys are revoked just before it
REMOVAL_TRIES = 3


@dataclass(frozen=True)
class Member:
    """A person in a workspace, with their role there."""

    user: UserModel
    row: MembershipModel
    role: str


@dataclass(frozen=True)
class Removal:
    """Which personal keys stop when a member goes (the dry run's answer, or what was revoked)."""

    user_id: str
    keys: list[ApiKeyModel]
    removed: bool


@dataclass(frozen=True)
class Belonging:
    """A workspace the caller belongs to, with their role in it."""

    workspace: WorkspaceModel
    role: str


def spend_caps(principal: Principal) -> SpendCaps:
    """The caps admission enforces for this caller: its key's, and its membership's monthly cap."""
    key = principal.key
    member_cap = None
    if not principal.is_service:
        row = memberships.get(principal.workspace_id, principal.user_id)
        member_cap = None if row is None or row.credits_per_month is None else int(row.credits_per_month)
    return SpendCaps(
        key_per_day=None if key is None or key.credits_per_day is None else int(key.credits_per_day),
        key_per_month=None if key is None or key.credits_per_month is None else int(key.credits_per_month),
        member_per_month=member_cap,
        count_member=not principal.is_service,
    )


def list_members(workspace_id: str) -> list[Member]:
    """The workspace's members, oldest first."""
    rows = memberships.of_workspace(workspace_id)
    people = {user.user_id: user for user in users.get_many([row.user_id for row in rows])}
    return [Member(people[r.user_id], r, memberships.role_of(r, people[r.user_id])) for r in rows if r.user_id in people]


def get_member(workspace_id: str, user_id: str) -> Member:
    """A current member (consistent read), or MemberNotFound (also for another workspace's people)."""
    row = memberships.get(workspace_id, user_id, consistent=True) if ids.is_id(user_id, "usr") else None
    user = users.get(user_id) if row is not None else None
    if row is None or user is None:
        raise MemberNotFound(f"member {user_id} not found")
    return Member(user, row, memberships.role_of(row, user))


def _owner_touch(principal: Principal, *roles: str | None) -> None:
    """Changing an owner, or making one, is an owner's act (`workspace:own`)."""
    if "owner" in roles:
        permissions.require(principal, permissions.WORKSPACE_OWN)


def _commit(txn: Transaction) -> None:
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "owners" in cancelled.failures:
            raise LastOwner("a workspace keeps at least one owner; make someone else owner first") from None
        raise MemberChanged("the member changed meanwhile; read and try again") from None


def update_member(principal: Principal, user_id: str, role: str | None, cap_given: bool, cap: int | None) -> Member:
    """`PATCH /v1/members/{user_id}`: the role and/or the monthly spend cap (None removes it)."""
    if role is None and not cap_given:
        raise InvalidChange("give role or credits_per_month", field="role")
    member = get_member(principal.workspace_id, user_id)
    _owner_touch(principal, member.role, role)
    now, txn = clock.now(), Transaction()
    new_role = role if role is not None and role != member.role else None
    memberships.change_in(txn, member.row, member.user, memberships.MemberChange(new_role, member.role, cap_given, cap))
    delta = (new_role == "owner") - (new_role is not None and member.role == "owner")
    if delta:
        memberships.change_owners_in(txn, principal.workspace_id, delta)
    before = {"role": member.role, "credits_per_month": member.row.credits_per_month}
    after = {"role": role or member.role, "credits_per_month": cap if cap_given else member.row.credits_per_month}
    audit_in(txn, principal.workspace_id, principal.user_id, "member.update", before=before, after=after, now=now)
    _commit(txn)
    return get_member(principal.workspace_id, user_id)


def _personal_keys(workspace_id: str, user_id: str) -> list[ApiKeyModel]:
    return [k for k in keys.of_user(user_id, workspace_id) if k.revoked_at is None and not keys.is_service(k)]


def remove_member(principal: Principal, user_id: str, *, dry_run: bool = False) -> Removal:
    """`DELETE /v1/members/{user_id}`: end the membership and revoke the member's personal keys in
    this workspace, at once and together; a dry run only says which keys would stop."""
    for _ in range(REMOVAL_TRIES):
        member = get_member(principal.workspace_id, user_id)
        _owner_touch(principal, member.role)
        stopping = _personal_keys(principal.workspace_id, user_id)
        if dry_run:
            return Removal(user_id, stopping, removed=False)
        try:
            _remove(principal, member, stopping, clock.now())
        except MemberChanged:
            continue  # a key was created meanwhile: read again, so it is revoked too
        return Removal(user_id, stopping, removed=True)
    raise MemberChanged("the member kept changing; try again")


def _remove(principal: Principal, member: Member, stopping: list[ApiKeyModel], now: datetime) -> None:
    for early in stopping[MAX_KEYS_IN_REMOVAL:]:
        keys.revoke(early, now)  # going anyway: revoked before the transaction that ends the membership
    txn = Transaction()
    memberships.remove_in(txn, member.row, member.user, now)
    for n, key in enumerate(stopping[:MAX_KEYS_IN_REMOVAL]):
        keys.revoke_in(txn, f"key:{n}", key, now)
    if member.role == "owner":
        memberships.change_owners_in(txn, principal.workspace_id, -1)
    after = {"revoked_keys": [k.key_id for k in stopping]}
    audit_in(
        txn,
        principal.workspace_id,
        principal.user_id,
        "member.remove",
        before={"user_id": member.user.user_id, "role": member.role},
        after=after,
        now=now,
    )
    _commit(txn)


def transfer_ownership(principal: Principal, user_id: str) -> Member:
    """Make `user_id` the owner of record and the caller, an owner, an admin (one transaction)."""
    target = get_member(principal.workspace_id, user_id)
    me = get_member(principal.workspace_id, principal.user_id)
    if target.user.user_id == me.user.user_id:
        raise InvalidChange("you already own this workspace", field="user_id")
    now, txn = clock.now(), Transaction()
    if target.role != "owner":
        memberships.change_in(txn, target.row, target.user, memberships.MemberChange("owner", target.role))
    memberships.change_in(txn, me.row, me.user, memberships.MemberChange("admin", "owner"), label="me")
    if target.role == "owner":
        memberships.change_owners_in(txn, principal.workspace_id, -1)
    workspaces.set_owner_in(txn, principal.workspace_id, user_id)
    audit_in(
        txn,
        principal.workspace_id,
        principal.user_id,
        "workspace.transfer",
        before={"owner": me.user.user_id},
        after={"owner": user_id},
        now=now,
    )
    _commit(txn)
    return get_member(principal.workspace_id, user_id)


def my_workspaces(principal: Principal) -> list[Belonging]:
    """`GET /v1/workspaces`: every workspace the caller belongs to, with their role in each."""
    if principal.is_service:
        return [Belonging(principal.workspace, principal.role)]
    rows = {row.workspace_id: row for row in memberships.of_person(principal.user_id)}
    found = {ws.workspace_id: ws for ws in workspaces.get_many(sorted(rows))}
    found.setdefault(principal.workspace_id, principal.workspace)  # a member from before teams
    belonging = []
    for ws_id in sorted(found):
        row = rows.get(ws_id)
        role = memberships.role_of(row, principal.user) if row is not None else principal.role
        belonging.append(Belonging(found[ws_id], role))
    return belonging
