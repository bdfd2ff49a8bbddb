"""API keys, stored by the hash of their secret only (the secret is shown once).

A personal key acts for its user in one workspace; a service key (`owner == "workspace"`) belongs
to the workspace and acts as its service identity (`service_user_id`), so it survives the removal
of whoever created it. Every new key bumps its owner's membership `keys_version` in the same
transaction (store/memberships.py): a removal revokes exactly the keys it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.store.models import ApiKeyModel
from chalicelib.store.transaction import Transaction

SERVICE_OWNER = "workspace"


@dataclass(frozen=True)
class KeyGrant:
    """What a new key may do: its scopes (None: all its user's role allows) and its spend caps."""

    scopes: Sequence[str] | None = None
    credits_per_day: int | None = None
    credits_per_month: int | None = None


def service_user_id(workspace_id: str) -> str:
    """The identity a workspace's service keys act as (jobs and ledger entries name it)."""
    return "svc_" + workspace_id.removeprefix("ws_")


def new_key(
    user_id: str,
    workspace_id: str,
    key_id: str,
    name: str,
    key_hash: str,
    prefix: str,
    now: datetime,
    grant: KeyGrant | None = None,
    *,
    service: bool = False,
) -> ApiKeyModel:
    """A key of `user_id` in `workspace_id` (a service key: of the workspace)."""
    grant = grant or KeyGrant()
    return ApiKeyModel(
        key_hash,
        key_id=key_id,
        user_id=user_id,
        workspace_id=workspace_id,
        name=name,
        prefix=prefix,
        created_at=now,
        scopes=None if grant.scopes is None else list(grant.scopes),
        credits_per_day=grant.credits_per_day,
        credits_per_month=grant.credits_per_month,
        owner=SERVICE_OWNER if service else None,
    )


def is_service(key: ApiKeyModel) -> bool:
    return key.owner == SERVICE_OWNER


def add_new(txn: Transaction, key: ApiKeyModel) -> None:
    txn.put("key", key, ApiKeyModel.key_hash.does_not_exist())


def save_new(key: ApiKeyModel) -> None:
    key.save(ApiKeyModel.key_hash.does_not_exist())


def by_hash(key_hash: str) -> ApiKeyModel | None:
    """The key whose secret hashes to `key_hash` (authentication: an eventually consistent read)."""
    try:
        return ApiKeyModel.get(key_hash)
    except ApiKeyModel.DoesNotExist:
        return None


def of_user(user_id: str, workspace_id: str | None = None) -> list[ApiKeyModel]:
    """The user's keys (in one workspace when given), newest first."""
    found = ApiKeyModel.by_user.query(user_id)
    return sorted(
        (k for k in found if workspace_id is None or k.workspace_id == workspace_id), key=lambda k: k.key_id, reverse=True
    )


def find(user_id: str, key_id: str, workspace_id: str | None = None) -> ApiKeyModel | None:
    """One of the user's keys by id (another user's key, or one of another workspace, is not found)."""
    key = next(iter(ApiKeyModel.by_user.query(user_id, ApiKeyModel.key_id == key_id)), None)
    if key is None or (workspace_id is not None and key.workspace_id != workspace_id):
        return None
    return key


def revoke(key: ApiKeyModel, now: datetime) -> None:
    key.update(actions=[ApiKeyModel.revoked_at.set(now)])


def revoke_in(txn: Transaction, label: str, key: ApiKeyModel, now: datetime) -> None:
    """Revoke `key` as part of a transaction (member removal); already revoked keys are not passed."""
    txn.update(label, key, [ApiKeyModel.revoked_at.set(now)], ApiKeyModel.revoked_at.does_not_exist())


def touch(key: ApiKeyModel, now: datetime) -> None:
    key.update(actions=[ApiKeyModel.last_used_at.set(now)])
