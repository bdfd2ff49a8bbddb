"""API keys as use cases: personal keys, workspace service keys, their scopes and spend caps.

No escalation: a new key's scopes are a subset of what the creator's role may grant
(`permissions.grantable`) and, when the creator's own key is scoped, of that key's scopes (a
scoped key asking for an unscoped one gets its own scopes). A key with spend caps creates no
keys (minting fresh, uncapped counters would lift its cap). Service keys act as the workspace's
service identity with an admin's rights at most (never an owner's), narrowed by their scopes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, ids
from chalicelib.store import keys, memberships
from chalicelib.store.keys import KeyGrant as KeyGrant  # what a route asks a key to carry
from chalicelib.store.models import ApiKeyModel, UserModel
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.tenancy import permissions
from chalicelib.tenancy.auth import Principal
from chalicelib.tenancy.errors import KeyNotFound, MemberChanged, MissingPermission, ServiceIdentity

KEY_PREFIX_CHARS = 12  # what lists show of a secret ("sk_test_AbCd"): enough to tell keys apart


@dataclass(frozen=True)
class NewKey:
    """A created key and its secret (shown once)."""

    key: ApiKeyModel
    secret: str


def _made(user_id: str, workspace_id: str, name: str, grant: KeyGrant | None, *, service: bool = False) -> NewKey:
    now = clock.now()
    secret = ids.new_secret()
    key = keys.new_key(
        user_id,
        workspace_id,
        ids.new_id("key", now),
        name,
        ids.hash_secret(secret),
        secret[:KEY_PREFIX_CHARS],
        now,
        grant,
        service=service,
    )
    return NewKey(key, secret)


def first_key_in(
    txn: Transaction, owner: UserModel, now: datetime, secret: str, *, workspace_id: str | None = None
) -> ApiKeyModel:
    """A person's first key in a workspace (unscoped), added to the transaction that makes them a
    member (a new workspace's, or an accepted invitation's)."""
    key = keys.new_key(
        owner.user_id,
        workspace_id or owner.workspace_id,
        ids.new_id("key", now),
        "default",
        ids.hash_secret(secret),
        secret[:KEY_PREFIX_CHARS],
        now,
    )
    keys.add_new(txn, key)
    return key


def granted(principal: Principal, grant: KeyGrant) -> KeyGrant:
    """`grant` as the caller may give it: MissingPermission (403 with `scope`) for any scope beyond
    the caller's role or key; an omitted scope list inherits a scoped caller's scopes."""
    if principal.key is not None and (principal.key.credits_per_day or principal.key.credits_per_month):
        raise MissingPermission("a key with spend caps cannot create keys", scope=permissions.KEYS_OWN)
    allowed = set(permissions.grantable(principal.role))
    caller = principal.key.scopes if principal.key is not None else None
    if caller is not None:
        allowed &= {str(scope) for scope in caller}
    if grant.scopes is None:
        inherited = None if caller is None else sorted(allowed)
        return KeyGrant(inherited, grant.credits_per_day, grant.credits_per_month)
    beyond = [scope for scope in grant.scopes if scope not in allowed]
    if beyond:
        raise MissingPermission(f"you cannot grant the {beyond[0]!r} scope", scope=beyond[0])
    return KeyGrant(sorted(set(grant.scopes)), grant.credits_per_day, grant.credits_per_month)


def create_personal_key(user: UserModel, workspace_id: str, name: str, grant: KeyGrant | None = None) -> NewKey:
    """A key of `user` in `workspace_id`, written with a bump of their membership (which must
    still be current: a removed member gets none, and a removal in flight notices it)."""
    made = _made(user.user_id, workspace_id, name, grant)
    if user.workspace_id == workspace_id:
        memberships.ensure_home(user, made.key.created_at)
    txn = Transaction()
    keys.add_new(txn, made.key)
    memberships.bump_keys_in(txn, workspace_id, user.user_id)
    try:
        txn.commit()
    except TransactionCancelled:
        raise MemberChanged("you are no longer a member of this workspace") from None
    return made


def create_key(principal: Principal, name: str, grant: KeyGrant) -> NewKey:
    """`POST /v1/keys`: a personal key of the caller, never above the caller."""
    if principal.is_service:
        raise ServiceIdentity("service keys cannot create personal keys; use /v1/service-keys")
    return create_personal_key(principal.user, principal.workspace_id, name, granted(principal, grant))


def create_service_key(principal: Principal, name: str, grant: KeyGrant) -> NewKey:
    """`POST /v1/service-keys`: a key of the workspace (owners and admins), never above the caller
    nor above an admin."""
    made = _made(
        keys.service_user_id(principal.workspace_id), principal.workspace_id, name, granted(principal, grant), service=True
    )
    keys.save_new(made.key)
    return made


def list_keys(principal: Principal) -> list[ApiKeyModel]:
    """The caller's own keys in this workspace, newest first (revoked ones too); a service key sees itself."""
    if principal.is_service and principal.key is not None:
        return [principal.key]
    return keys.of_user(principal.user_id, principal.workspace_id)


def list_service_keys(workspace_id: str) -> list[ApiKeyModel]:
    """The workspace's service keys, newest first."""
    return keys.of_user(keys.service_user_id(workspace_id), workspace_id)


def revoke_key(principal: Principal, key_id: str) -> ApiKeyModel:
    """Revoke one of the caller's keys; from then on it gets 401. Revoking twice changes nothing."""
    key = keys.find(principal.user_id, key_id, principal.workspace_id)
    if key is None or (principal.is_service and key.key_id != principal.key_id):
        raise KeyNotFound(f"key {key_id} not found")
    return _revoked(key)


def revoke_service_key(workspace_id: str, key_id: str) -> ApiKeyModel:
    key = keys.find(keys.service_user_id(workspace_id), key_id, workspace_id)
    if key is None:
        raise KeyNotFound(f"service key {key_id} not found")
    return _revoked(key)


def _revoked(key: ApiKeyModel) -> ApiKeyModel:
    if key.revoked_at is None:
        keys.revoke(key, clock.now())
    return key
