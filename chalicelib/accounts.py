"""Workspaces, users and API keys: creation (with the wallet), profiles, keys, bans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.ledger import new_wallet
from chalicelib.accounting.periods import period_of
from chalicelib.accounting.plans import get_plan
from chalicelib.api.errors import NotFound
from chalicelib.store.models import ApiKeyModel, AuditModel, UserModel, WalletModel, WorkspaceModel
from chalicelib.store.transaction import Transaction


@dataclass
class NewWorkspace:
    workspace: WorkspaceModel
    owner: UserModel
    key: ApiKeyModel
    secret: str


def key_view(key: ApiKeyModel) -> dict[str, Any]:
    return {
        "id": key.key_id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": clock.iso(key.created_at),
        "last_used_at": clock.iso(key.last_used_at),
        "revoked_at": clock.iso(key.revoked_at),
    }


def user_view(user: UserModel) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "is_admin": bool(user.is_admin),
        "status": user.status,
        "settings": user.settings or {},
        "workspace_id": user.workspace_id,
        "created_at": clock.iso(user.created_at),
    }


def workspace_view(ws: WorkspaceModel) -> dict[str, Any]:
    return {
        "id": ws.workspace_id,
        "name": ws.name,
        "plan": ws.plan,
        "billing_interval": ws.billing_interval,
        "status": ws.status,
        "ban_reason": ws.ban_reason,
        "owner_user_id": ws.owner_user_id,
        "limits": ws.limits or {},
        "created_at": clock.iso(ws.created_at),
    }


def _new_key(user: UserModel, name: str, now: Any, live: bool = False) -> tuple[ApiKeyModel, str]:
    secret = ids.new_secret(live)
    key = ApiKeyModel(
        ids.hash_secret(secret),
        key_id=ids.new_id("key", now),
        user_id=user.user_id,
        workspace_id=user.workspace_id,
        name=name,
        prefix=secret[:12],
        created_at=now,
    )
    return key, secret


def create_workspace(name: str, owner_email: str, plan: str, *, actor: str = "system",
                     is_admin: bool = False, secret: str | None = None) -> NewWorkspace:
    """A workspace, its owner, the owner's first key and the wallet, in one transaction."""
    now = clock.now()
    ws_id = ids.new_id("ws", now)
    user = UserModel(ids.new_id("usr", now), workspace_id=ws_id, email=owner_email.lower(), role="owner",
                     is_admin=is_admin, status="active", settings={}, created_at=now)
    workspace = WorkspaceModel(ws_id, name=name, plan=plan, status="active", owner_user_id=user.user_id,
                               limits={}, billing={}, created_at=now)
    key, generated = _new_key(user, "default", now)
    if secret is not None:
        key.key_hash = ids.hash_secret(secret)
        key.prefix = secret[:12]
        generated = secret
    wallet, grant = new_wallet(ws_id, plan, get_plan(plan).monthly_allowance, period_of(now), now)
    txn = Transaction()
    txn.put("workspace", workspace, WorkspaceModel.workspace_id.does_not_exist())
    txn.put("user", user, UserModel.user_id.does_not_exist())
    txn.put("key", key, ApiKeyModel.key_hash.does_not_exist())
    txn.put("wallet", wallet, WalletModel.workspace_id.does_not_exist())
    txn.put("grant", grant)
    txn.put("audit", AuditModel(ws_id, ids.new_id("aud", now), actor=actor, action="workspace.create",
                                after={"name": name, "plan": plan, "owner_email": owner_email}, created_at=now))
    txn.commit(WalletModel._get_connection().connection)
    return NewWorkspace(workspace, user, key, generated)


def get_workspace(workspace_id: str) -> WorkspaceModel:
    if not ids.is_id(workspace_id, "ws"):
        raise NotFound(f"workspace {workspace_id} not found")
    try:
        return WorkspaceModel.get(workspace_id, consistent_read=True)
    except WorkspaceModel.DoesNotExist:
        raise NotFound(f"workspace {workspace_id} not found") from None


def get_user(user_id: str) -> UserModel:
    if not ids.is_id(user_id, "usr"):
        raise NotFound(f"user {user_id} not found")
    try:
        return UserModel.get(user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise NotFound(f"user {user_id} not found") from None


def update_profile(user: UserModel, display_name: str | None, settings: dict[str, Any] | None) -> UserModel:
    """PATCH /v1/me: only the fields given change; settings merge one level deep."""
    actions = []
    if display_name is not None:
        actions.append(UserModel.display_name.set(display_name))
    if settings is not None:
        merged = dict(user.settings or {})
        for key, value in settings.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        actions.append(UserModel.settings.set(merged))
    if actions:
        user.update(actions=actions)
    return user


def create_key(user: UserModel, name: str) -> tuple[ApiKeyModel, str]:
    key, secret = _new_key(user, name, clock.now())
    key.save(ApiKeyModel.key_hash.does_not_exist())
    return key, secret


def list_keys(user: UserModel) -> list[ApiKeyModel]:
    return sorted(ApiKeyModel.by_user.query(user.user_id), key=lambda k: k.key_id, reverse=True)


def revoke_key(user: UserModel, key_id: str) -> ApiKeyModel:
    """Revoke one of the caller's keys; from then on it gets 401."""
    for key in ApiKeyModel.by_user.query(user.user_id, ApiKeyModel.key_id == key_id):
        if key.revoked_at is None:
            key.update(actions=[ApiKeyModel.revoked_at.set(clock.now())])
        return key
    raise NotFound(f"key {key_id} not found")


def set_ban(kind: str, target_id: str, banned: bool, *, actor: str, reason: str) -> dict[str, Any]:
    """Ban or unban a workspace (also on its wallet, so admission refuses) or a user; audited."""
    now = clock.now()
    status = "banned" if banned else "active"
    txn = Transaction()
    if kind == "workspace":
        ws = get_workspace(target_id)
        before = {"status": ws.status}
        txn.update("target", ws, [WorkspaceModel.status.set(status),
                                  WorkspaceModel.ban_reason.set(reason) if banned else WorkspaceModel.ban_reason.remove()])
        txn.update("wallet", WalletModel(target_id), [WalletModel.banned.set(banned)], WalletModel.workspace_id.exists())
        audit_target = target_id
    else:
        user = get_user(target_id)
        before = {"status": user.status}
        txn.update("target", user, [UserModel.status.set(status)])
        audit_target = user.workspace_id
    txn.put("audit", AuditModel(audit_target, ids.new_id("aud", now), actor=actor,
                                action=f"{kind}.{'ban' if banned else 'unban'}", before=before,
                                after={"status": status, "id": target_id}, reason=reason, created_at=now))
    txn.commit(WalletModel._get_connection().connection)
    return {"id": target_id, "status": status}
