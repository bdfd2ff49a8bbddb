"""Who may do what: the permission matrix, written once as data (API.md "Teams", DESIGN.md).

Every route names the one permission it needs (`api.http.authenticate(request, permission)`);
`require` is the only check. A caller may act when both hold:

- its **role** in the workspace grants the permission (`ROLE_PERMISSIONS`), and
- its **API key**, when the key is scoped, lists it (`ApiKeyModel.scopes`; an unscoped key may
  do whatever its user's role allows). A key can never do more than its user.

The scope names are the permission names (API.md: `POST /v1/keys` `scopes`), so a key's scopes
are a subset of these. `SELF` is for what every signed-in caller may do about themselves
(read `/v1/me`, manage their own keys): no role or scope withholds it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Final

from chalicelib.tenancy.errors import MissingPermission

if TYPE_CHECKING:
    from chalicelib.tenancy.auth import Principal

SELF: Final = "self"
JOBS_READ: Final = "jobs:read"
JOBS_WRITE: Final = "jobs:write"
LIBRARY_READ: Final = "library:read"
LIBRARY_WRITE: Final = "library:write"
BILLING_READ: Final = "billing:read"
BILLING_WRITE: Final = "billing:write"
WEBHOOKS_WRITE: Final = "webhooks:write"
MEMBERS_WRITE: Final = "members:write"

# Permissions a role grants that are not scopes; a scoped key uses them through the scope named
# here (None: any key of a user whose role grants it).
LIBRARY_MANAGE: Final = "library:manage"  # edit anyone's library items, shares, publish
WORKSPACE_OWN: Final = "workspace:own"  # transfer ownership, delete the workspace, change an owner
KEYS_OWN: Final = "keys:own"  # create one's own API keys (their scopes never above the creator's)
ANALYTICS_READ: Final = "analytics:read"  # the customer analytics: usage, performance, costs (every role)

SCOPE_FOR: Final[dict[str, str | None]] = {
    LIBRARY_MANAGE: LIBRARY_WRITE,
    WORKSPACE_OWN: MEMBERS_WRITE,
    KEYS_OWN: None,
    ANALYTICS_READ: JOBS_READ,  # a scoped key reads analytics with jobs:read (no new scope name)
}

SCOPES: Final = (
    JOBS_READ,
    JOBS_WRITE,
    LIBRARY_READ,
    LIBRARY_WRITE,
    BILLING_READ,
    BILLING_WRITE,
    WEBHOOKS_WRITE,
    MEMBERS_WRITE,
)

ROLES: Final = ("owner", "admin", "member", "viewer")  # highest first

# DESIGN.md "Teams: the permission matrix", row by row. Reading usage and analytics is `jobs:read`.
ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "owner": frozenset({*SCOPES, LIBRARY_MANAGE, KEYS_OWN, WORKSPACE_OWN, ANALYTICS_READ}),
    "admin": frozenset({*SCOPES, LIBRARY_MANAGE, KEYS_OWN, ANALYTICS_READ}),
    # Members make and organise their own images; billing (balance, buying) is for owners and admins.
    "member": frozenset({JOBS_READ, JOBS_WRITE, LIBRARY_READ, LIBRARY_WRITE, KEYS_OWN, ANALYTICS_READ}),
    # DESIGN.md: reading usage and analytics (costs in credits and list price included) is every role's.
    "viewer": frozenset({JOBS_READ, LIBRARY_READ, ANALYTICS_READ}),
}


def role_allows(role: str, permission: str) -> bool:
    """True when `role` grants `permission` (an unknown role grants nothing but SELF)."""
    return permission == SELF or permission in ROLE_PERMISSIONS.get(role, frozenset())


def allows(role: str, key_scopes: Collection[str] | None, permission: str) -> bool:
    """The rule: the role grants it and, for a scoped key, the key lists it."""
    if not role_allows(role, permission):
        return False
    if permission == SELF or key_scopes is None:
        return True
    scope = SCOPE_FOR.get(permission, permission)
    return scope is None or scope in key_scopes


def require(principal: Principal, permission: str) -> Principal:
    """The principal, if it may use `permission`; MissingPermission (403 with `scope`) otherwise."""
    stored = principal.key.scopes if principal.key is not None else None
    scopes = None if stored is None else {str(scope) for scope in stored}
    if not allows(principal.role, scopes, permission):
        raise MissingPermission(f"this needs the {permission!r} permission", scope=permission)
    return principal


def grantable(role: str) -> frozenset[str]:
    """The scopes a user of `role` may put on a key (never more than the role allows)."""
    return ROLE_PERMISSIONS.get(role, frozenset()) & frozenset(SCOPES)


# --- library exports (issue 12) -----------------------------------------------------------------
# Zipping images is reading them: DESIGN.md's first row (every role reads the library), and a
# key needs the `library:read` scope. Exports cost no credits; a workspace's pending ones are capped.
LIBRARY_EXPORT: Final = LIBRARY_READ
# --- collections and the gallery (API.md "Templates, collections, gallery") ---
# DESIGN.md's rows: reading collections is the library's read; editing one's own is the library's
# write; editing another member's, showing one to the public and publishing to the gallery are
# "edit anyone's library items ... publish to the gallery" (owners, admins). The public gallery
# routes need no key (rate-limited per client address); moderation is platform admins' (/admin).
COLLECTIONS_READ: Final = LIBRARY_READ
COLLECTIONS_WRITE: Final = LIBRARY_WRITE
GALLERY_PUBLISH: Final = LIBRARY_MANAGE
# --- marketplace (issue 16, API.md "Platform") ---
# DESIGN.md's rows: "billing: ... payouts and marketplace listings" are owners' and admins'
# (selling, buying with the wallet's credits, earnings and payouts); browsing listings is reading
# templates (every role); rating a template the workspace bought is editing its own library
# items (members too); reporting a listing is anyone's who may see it.
MARKETPLACE_BROWSE: Final = LIBRARY_READ
MARKETPLACE_SELL: Final = BILLING_WRITE
MARKETPLACE_BUY: Final = BILLING_WRITE
MARKETPLACE_RATE: Final = LIBRARY_WRITE
MARKETPLACE_REPORT: Final = LIBRARY_READ
EARNINGS_READ: Final = BILLING_READ
PAYOUTS_WRITE: Final = BILLING_WRITE
# Withdrawing or repricing a listing is selling (owners, admins); the list of what the workspace
# bought is reading templates it may use (every role), at the listings' public prices.
MARKETPLACE_WITHDRAW: Final = MARKETPLACE_SELL
MARKETPLACE_REPRICE: Final = MARKETPLACE_SELL
MARKETPLACE_PURCHASES_READ: Final = LIBRARY_READ
# --- custom model training (issue 16) --------------------------------------------------------------
# DESIGN.md's rows: every role reads jobs (trainings are jobs of the workspace's models); "create
# jobs, trainings" is owner, admin and member. A scoped key uses `jobs:read` / `jobs:write`.
TRAININGS_READ: Final = JOBS_READ
TRAININGS_WRITE: Final = JOBS_WRITE
# --- mobile: devices, push settings, offline sync (issue 16) ---
# A person's devices and push settings are theirs, like their profile (`SELF`: every role, any
# key of theirs; service keys have no person and are refused by the service). Sync reads what
# every role reads (the library, templates) and writes what the library's write allows; editing
# another member's items still needs library:manage, checked per record by the services.
DEVICES_OWN: Final = SELF
SYNC_READ: Final = LIBRARY_READ
SYNC_WRITE: Final = LIBRARY_WRITE
