"""Tenancy: workspaces, their users and API keys, who is calling, and what operators do to tenants.

- `auth`: a key's secret → `Principal` (unknown, revoked, banned are refused).
- `service`: create a workspace (with its wallet, owner membership and first key), profiles.
- `keys`: personal and service API keys, their scopes (never above the creator) and spend caps.
- `members`, `invitations`: who belongs to a workspace, in which role; invitations by email.
- `account`: a workspace's balance (rolling over a new month first), ledger and usage.
- `admin`: the operators' listing, detail view, credits, limits, bans, scheduled tasks (audited).
- `reports`: the operators' reads: usage, jobs and denials of a window, the ledger export.
- `errors`: what they refuse, as `chalicelib.domain` kinds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.tenancy.auth import Principal, authenticate, authenticate_admin, require_admin
    from chalicelib.tenancy.keys import NewKey
    from chalicelib.tenancy.service import NewWorkspace, create_key, create_workspace, get_user, get_workspace, update_profile

# The face is loaded on first use (PEP 562): route modules import `chalicelib.tenancy.permissions`
# at `import app`, which must not pull pynamodb in through this package's names.
_FACE = {
    "Principal": "auth",
    "authenticate": "auth",
    "authenticate_admin": "auth",
    "require_admin": "auth",
    "NewKey": "keys",
    "NewWorkspace": "service",
    "create_key": "service",
    "create_workspace": "service",
    "get_user": "service",
    "get_workspace": "service",
    "update_profile": "service",
}


def __getattr__(name: str) -> Any:
    if name not in _FACE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"chalicelib.tenancy.{_FACE[name]}"), name)


__all__ = [
    "NewKey",
    "NewWorkspace",
    "Principal",
    "authenticate",
    "authenticate_admin",
    "create_key",
    "create_workspace",
    "get_user",
    "get_workspace",
    "require_admin",
    "update_profile",
]
