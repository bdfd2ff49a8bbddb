"""Tenancy: workspaces, their users and API keys, who is calling, and what operators do to tenants.

- `auth`: a key's secret → `Principal` (unknown, revoked, banned are refused).
- `service`: create a workspace (with its wallet), profiles, keys.
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
    from chalicelib.tenancy.service import (
        NewKey,
        NewWorkspace,
        create_key,
        create_workspace,
        get_user,
        get_workspace,
        list_keys,
        revoke_key,
        update_profile,
    )

# The package's names load their modules (and pynamodb) on first use, so importing a light
# module of the package (`tenancy.permissions`, `tenancy.errors`) keeps `import app` light.
_HOMES = {
    **dict.fromkeys(("Principal", "authenticate", "authenticate_admin", "require_admin"), "chalicelib.tenancy.auth"),
    **dict.fromkeys(
        (
            "NewKey",
            "NewWorkspace",
            "create_key",
            "create_workspace",
            "get_user",
            "get_workspace",
            "list_keys",
            "revoke_key",
            "update_profile",
        ),
        "chalicelib.tenancy.service",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "list_keys",
    "require_admin",
    "revoke_key",
    "update_profile",
]
