"""Workspaces and users: creation (with the wallet, the owner's membership and first key), profiles.

The tenant's own account reads (balance, ledger, usage) are in `tenancy.account`; what platform
operators do to tenants (limits, bans, credits, listings) is in `tenancy.admin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.ledger import new_wallet
from chalicelib.accounting.periods import period_of
from chalicelib.accounting.plans import get_plan
from chalicelib.store import memberships, users, workspaces
from chalicelib.store.audit import audit_in
from chalicelib.store.models import ApiKeyModel, UserModel, WorkspaceModel
from chalicelib.store.transaction import Transaction
from chalicelib.tenancy.auth import Principal
from chalicelib.tenancy.errors import ServiceIdentity, UserNotFound, WorkspaceNotFound
from chalicelib.tenancy.keys import NewKey, create_personal_key, first_key_in


@dataclass(frozen=True)
class NewWorkspace:
    """A created workspace, its owner, the owner's first key and that key's secret (shown once)."""

    workspace: WorkspaceModel
    owner: UserModel
    key: ApiKeyModel
    secret: str


def create_workspace(
    name: str, owner_email: str, plan: str, *, actor: str = "system", is_admin: bool = False, secret: str | None = None
) -> NewWorkspace:
    """A workspace, its owner, the owner's first key and the wallet with the plan's allowance, in
    one transaction with its audit row. `secret` fixes the first key's secret (the local stack's
    bootstrap admin); otherwise a new one is made."""
    now = clock.now()
    ws_id = ids.new_id("ws", now)
    owner = users.new_user(ids.new_id("usr", now), ws_id, owner_email, role="owner", is_admin=is_admin, now=now)
    workspace = workspaces.new_workspace(ws_id, name, plan, owner.user_id, now)
    secret = secret if secret is not None else ids.new_secret()
    wallet, grant = new_wallet(ws_id, plan, get_plan(plan).monthly_allowance, period_of(now), now)
    txn = Transaction()
    workspaces.add_new(txn, workspace, wallet, grant)
    users.add_new(txn, owner)
    memberships.add_in(txn, memberships.new_row(ws_id, owner, "owner", now))
    memberships.add_owners_row_in(txn, ws_id, 1)
    key = first_key_in(txn, owner, now, secret)
    audit_in(txn, ws_id, actor, "workspace.create", after={"name": name, "plan": plan, "owner_email": owner_email}, now=now)
    txn.commit()
    return NewWorkspace(workspace, owner, key, secret)


def get_workspace(workspace_id: str) -> WorkspaceModel:
    """The workspace, or WorkspaceNotFound (also for anything that is not a workspace id)."""
    found = workspaces.get(workspace_id) if ids.is_id(workspace_id, "ws") else None
    if found is None:
        raise WorkspaceNotFound(f"workspace {workspace_id} not found")
    return found


def get_user(user_id: str) -> UserModel:
    found = users.get(user_id) if ids.is_id(user_id, "usr") else None
    if found is None:
        raise UserNotFound(f"user {user_id} not found")
    return found


def merged_settings(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Settings merge one level deep: a nested object given in part keeps its other keys."""
    merged = dict(current)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def update_profile(caller: Principal, display_name: str | None, settings: dict[str, Any] | None) -> UserModel:
    """PATCH /v1/me: only the fields given change (a service key has no profile)."""
    if caller.is_service:
        raise ServiceIdentity("a service key acts for the workspace and has no profile")
    user = caller.user
    merged = merged_settings(user.settings or {}, settings) if settings is not None else None
    users.update_profile(user, display_name=display_name, settings=merged)
    return user


def create_key(user: UserModel, name: str) -> NewKey:
    """A new unscoped key of the user in their home workspace (operators and tests; the API's
    `POST /v1/keys` goes through `tenancy.keys.create_key`, which checks what the caller may grant)."""
    return create_personal_key(user, user.workspace_id, name)
