"""What tenancy's use cases refuse, as the domain's kinds (`chalicelib.domain`); `api/` maps the
kinds to HTTP in one place. Details travel as keyword arguments into the envelope."""

from __future__ import annotations

from chalicelib.domain import Banned, Conflict, InvalidInput, NotAllowed, NotAuthenticated, NotFound


class UnknownKey(NotAuthenticated):
    """No key, an unknown key, or a revoked one."""


class WorkspaceBanned(Banned):
    """The caller's workspace is banned (`reason` says why)."""


class UserBanned(Banned):
    """The calling user is banned (the rest of the workspace goes on)."""


class AdminsOnly(NotAllowed):
    """Platform admins only."""


class MissingPermission(NotAllowed):
    """The caller's role, or its key's scopes, do not grant the permission a route needs (`scope`)."""


class WorkspaceNotFound(NotFound):
    pass


class UserNotFound(NotFound):
    pass


class KeyNotFound(NotFound):
    """Not one of the caller's keys."""


class UnknownTask(NotFound):
    """No scheduled task of that name."""


class DeductionTooLarge(Conflict):
    """A deduction would make `available` negative (`available` says how much there is)."""


class InvalidQuery(InvalidInput):
    """A report's filters do not go together (or name something that does not exist)."""


# --- teams ---------------------------------------------------------------------------------


class MemberNotFound(NotFound):
    """Not a member of the caller's workspace (or no such person)."""


class InvitationNotFound(NotFound):
    """No such invitation in the caller's workspace, or no invitation for that token."""


class LastOwner(Conflict):
    """The change would leave the workspace without an owner."""


class MemberChanged(Conflict):
    """The member changed meanwhile (a key was created, the role moved): read and try again."""


class InvitationUsed(Conflict):
    """The invitation was accepted, revoked or has expired (`invitation_status` says which)."""


class AlreadyMember(Conflict):
    """The person already belongs to the workspace."""


class ServiceIdentity(NotAllowed):
    """Service keys act for the workspace, not a person: they have no profile and make no personal keys."""


class InvalidChange(InvalidInput):
    """A member or invitation change that cannot be (nothing to change, transferring to oneself)."""


# --- teams: people who sign in ------------------------------------------------------------


class NotAMember(NotAllowed):
    """A signed-in person asked for a workspace they do not belong to (or one that does not exist)."""


class WorkspaceChoice(InvalidInput):
    """A signed-in person of several workspaces must name one (X-Workspace-Id), and name it well."""
