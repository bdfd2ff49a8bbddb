"""API keys, stored by the hash of their secret only (the secret is shown once)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.models import ApiKeyModel, UserModel
from chalicelib.store.transaction import Transaction


def new_key(user: UserModel, key_id: str, name: str, key_hash: str, prefix: str, now: datetime) -> ApiKeyModel:
    """A key of `user` in the user's workspace."""
    return ApiKeyModel(
        key_hash, key_id=key_id, user_id=user.user_id, workspace_id=user.workspace_id, name=name, prefix=prefix, created_at=now
    )


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


def of_user(user_id: str) -> list[ApiKeyModel]:
    """The user's keys, newest first."""
    return sorted(ApiKeyModel.by_user.query(user_id), key=lambda k: k.key_id, reverse=True)


def find(user_id: str, key_id: str) -> ApiKeyModel | None:
    """One of the user's keys by id (another user's key is not found)."""
    return next(iter(ApiKeyModel.by_user.query(user_id, ApiKeyModel.key_id == key_id)), None)


def revoke(key: ApiKeyModel, now: datetime) -> None:
    key.update(actions=[ApiKeyModel.revoked_at.set(now)])


def touch(key: ApiKeyModel, now: datetime) -> None:
    key.update(actions=[ApiKeyModel.last_used_at.set(now)])
