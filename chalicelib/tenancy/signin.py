"""People who sign in: a verified Cognito ID token → the same `Principal` an API key gives.

The rules (README "Teams", "People who sign in"):
- **Who**: the token's `sub` is linked to one of our users (`store/identities.py`). The first
  sign-in links it to the user whose email is the token's, if Cognito says that email is
  verified (users are made by workspace creation or by accepting an invitation, with that email);
  after that the link decides, whatever the email in the pool becomes. No user with that email,
  or an unverified email: 401, nothing is created.
- **Where**: `X-Workspace-Id` names the workspace, which must be one the person belongs to (403
  `forbidden` otherwise, for a workspace that does not exist too: existence never leaks). Without
  the header, a person of exactly one workspace acts in it; of several, it is a 400 naming the
  header.
- **What**: the role they have there, through `permissions.require`, as for a key of theirs with
  no scopes (a person is never narrowed by scopes; there is no key: `Principal.key` is None).
"""

from __future__ import annotations

from chalicelib import clock, ids
from chalicelib.settings import get_settings
from chalicelib.store import identities, memberships, users, workspaces
from chalicelib.store.models import UserModel, WorkspaceModel
from chalicelib.tenancy import cognito, permissions
from chalicelib.tenancy.auth import Principal, check_standing
from chalicelib.tenancy.errors import NotAMember, UnknownKey, WorkspaceChoice

WORKSPACE_HEADER = "X-Workspace-Id"


def authenticate_person(token: str, workspace_id: str | None, permission: str, *, allow_banned: bool = False) -> Principal:
    """The principal of a signed-in person acting in `workspace_id` (the X-Workspace-Id header),
    if their role there grants `permission`."""
    user = person(cognito.verify(token))
    workspace, role = _workspace_of(user, workspace_id)
    if not allow_banned:
        check_standing(user, workspace)
    home = workspace.workspace_id == user.workspace_id
    return permissions.require(Principal(user, workspace, None, None if home else role), permission)


def person(signed_in: cognito.SignedIn) -> UserModel:
    """Our user for a verified sign-in: by its link, or linked now by verified email."""
    pool = str(get_settings().cognito_user_pool_id)
    link = identities.get(pool, signed_in.sub)
    if link is None:
        if not signed_in.email or not signed_in.email_verified:
            raise UnknownKey("no account is linked to this sign-in, and its email is not verified")
        found = users.by_email(signed_in.email)
        if found is None:
            raise UnknownKey("no account has this email: accept an invitation (or have a workspace made) first")
        link = identities.link(pool, signed_in.sub, found.user_id, signed_in.email, clock.now())
    user = users.get(link.user_id, consistent=False)
    if user is None:
        raise UnknownKey("the account linked to this sign-in no longer exists")
    return user


def _workspace_of(user: UserModel, wanted: str | None) -> tuple[WorkspaceModel, str]:
    """The workspace the person acts in, and their role there."""
    if wanted is None:
        wanted = _only_workspace(user)
    if not ids.is_id(wanted, "ws"):
        raise WorkspaceChoice(f"{WORKSPACE_HEADER} must be a workspace id (ws_…)", field=WORKSPACE_HEADER)
    role = _role_in(user, wanted)
    workspace = workspaces.get(wanted, consistent=False) if role is not None else None
    if role is None or workspace is None:
        raise NotAMember(f"you are not a member of workspace {wanted}")
    return workspace, role


def _only_workspace(user: UserModel) -> str:
    """The workspace of a person who belongs to exactly one (no header needed)."""
    belonging = _belonging(user)
    if not belonging:
        raise NotAMember("you belong to no workspace")
    if len(belonging) > 1:
        raise WorkspaceChoice(
            f"you belong to {len(belonging)} workspaces: name one in {WORKSPACE_HEADER}", field=WORKSPACE_HEADER
        )
    return belonging[0]


def _role_in(user: UserModel, workspace_id: str) -> str | None:
    """The person's role in the workspace, or None when they do not belong to it (any more)."""
    row = memberships.get(workspace_id, user.user_id)
    if row is not None:
        return memberships.role_of(row, user)
    if workspace_id == user.workspace_id and user.role in permissions.ROLES:
        return str(user.role)  # their home workspace, from before memberships were written
    return None


def _belonging(user: UserModel) -> list[str]:
    """The ids of the workspaces the person belongs to."""
    found = {row.workspace_id for row in memberships.of_person(user.user_id)}
    if user.role in permissions.ROLES:
        found.add(user.workspace_id)
    return sorted(found)
