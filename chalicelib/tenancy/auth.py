"""Who is calling: an API key's secret resolved to a user acting in a workspace.

`api.http.authenticate` only reads the bearer secret off the request; the rules are here:
unknown and revoked keys are refused, a banned workspace or user is refused (platform admins
are not: they must be able to act on banned tenants), and a key's last use is recorded at most
once a minute per container.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib import clock, ids
from chalicelib.bootstrap import on_reset
from chalicelib.observability import logger
from chalicelib.store import keys, memberships, users, workspaces
from chalicelib.store.models import ApiKeyModel, UserModel, WorkspaceModel
from chalicelib.tenancy import permissions
from chalicelib.tenancy.errors import AdminsOnly, UnknownKey, UserBanned, WorkspaceBanned

TOUCH_EVERY_S = 60.0
SERVICE_ROLE = "admin"  # what a service key may do at most, then narrowed by its scopes


@dataclass(frozen=True)
class Principal:
    """A user in a workspace, through one API key: what every use case acts for.

    It carries the records authentication read (so a use case does not read them again).
    """

    user: UserModel
    workspace: WorkspaceModel
    key: ApiKeyModel | None
    member_role: str | None = None  # the role outside the person's home workspace (store/memberships.py)

    @property
    def user_id(self) -> str:
        return self.user.user_id

    @property
    def workspace_id(self) -> str:
        return self.workspace.workspace_id

    @property
    def key_id(self) -> str | None:
        return self.key.key_id if self.key is not None else None

    @property
    def replay_scope(self) -> str:
        """Whose Idempotency-Keys these are: a person's, in this workspace (a person in two
        workspaces never gets one workspace's replay in the other)."""
        return f"{self.user_id}@{self.workspace_id}"

    @property
    def role(self) -> str:
        """The role in this workspace: the membership's, or the user row's in their home workspace."""
        return self.member_role if self.member_role is not None else self.user.role

    @property
    def is_service(self) -> bool:
        """A workspace service key (acting for the workspace, not a person)."""
        return self.key is not None and keys.is_service(self.key)

    @property
    def is_admin(self) -> bool:
        return bool(self.user.is_admin)


def authenticate(secret: str, permission: str, *, allow_banned: bool = False) -> Principal:
    """The principal a key's secret stands for, if it may use `permission` (permissions.py);
    UnknownKey, *Banned or MissingPermission when it may not act."""
    key = keys.by_hash(ids.hash_secret(secret))
    if key is None:
        raise UnknownKey("unknown API key")
    if key.revoked_at is not None:
        raise UnknownKey("this API key was revoked")
    workspace = workspaces.get(key.workspace_id, consistent=False)
    user = service_identity(key) if keys.is_service(key) else users.get(key.user_id, consistent=False)
    if user is None or workspace is None:
        raise UnknownKey("unknown API key")
    if not allow_banned:
        check_standing(user, workspace)
    principal = Principal(user, workspace, key, _member_role(user, key))
    _touch(key)
    return permissions.require(principal, permission)


def check_standing(user: UserModel, workspace: WorkspaceModel) -> None:
    """A banned workspace or user acts no more (platform admins do: they act on banned tenants)."""
    if user.is_admin:
        return
    if workspace.status == "banned":
        raise WorkspaceBanned("this workspace is banned", reason=workspace.ban_reason)
    if user.status == "banned":
        raise UserBanned("this user is banned")


def service_identity(key: ApiKeyModel) -> UserModel:
    """Who a workspace's service key acts as: the workspace itself, with an admin's rights at most
    (never stored; jobs and ledger entries name its id)."""
    return UserModel(
        key.user_id,
        workspace_id=key.workspace_id,
        email=f"{key.user_id}@service.invalid",
        role=SERVICE_ROLE,
        is_admin=False,
        status="active",
        display_name=key.name,
        settings={},
        created_at=key.created_at,
    )


def _member_role(user: UserModel, key: ApiKeyModel) -> str | None:
    """The role outside the home workspace, from the membership (removed: the key stops)."""
    if keys.is_service(key) or user.workspace_id == key.workspace_id:
        return None
    row = memberships.get(key.workspace_id, user.user_id)
    if row is None:
        raise UnknownKey("this API key's user is no longer a member of its workspace")
    return memberships.role_of(row, user)


def require_admin(principal: Principal) -> Principal:
    """The principal, if a platform admin."""
    if not principal.is_admin:
        raise AdminsOnly("platform admins only")
    return principal


def authenticate_admin(secret: str) -> Principal:
    """A platform admin (whose own workspace may even be banned: admins act on banned tenants)."""
    return require_admin(authenticate(secret, permissions.SELF, allow_banned=True))


_last_touch: dict[str, float] = {}


@on_reset
def reset() -> None:
    """Forget when keys were last touched."""
    _last_touch.clear()


def _touch(key: ApiKeyModel) -> None:
    """Record the key's last use, at most once a minute per key (a write on every call is waste)."""
    now = time.monotonic()
    if now - _last_touch.get(key.key_hash, -1e9) < TOUCH_EVERY_S:
        return
    _last_touch[key.key_hash] = now
    try:
        keys.touch(key, clock.now())
    except Exception:  # bookkeeping: a failed write must never refuse the request
        logger.warning("could not record a key's last use", extra={"key_id": key.key_id})
