"""Invitations by email: invite, list, revoke, resend, accept.

The token travels only by email (tenancy/mail.py) and only its SHA-256 is stored. Accepting is
single use and expiring, in ONE transaction with what it creates: without a caller, a new person
(their home workspace is the one they join) and their first key; with a caller (a bearer key), the
existing person joins, and gets a key for the new workspace (a key acts in one workspace). A
person who already has an account accepts signed in (their key), not as a second person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock, ids
from chalicelib.store import invitations, memberships, users, workspaces
from chalicelib.store.audit import audit_in
from chalicelib.store.models import InvitationModel, UserModel, WorkspaceModel
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.tenancy import mail
from chalicelib.tenancy.auth import Principal
from chalicelib.tenancy.errors import AlreadyMember, InvitationNotFound, InvitationUsed, ServiceIdentity
from chalicelib.tenancy.keys import first_key_in

VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Accepted:
    """Who joined which workspace as what, and the secret of their new key there (shown once)."""

    user: UserModel
    workspace: WorkspaceModel
    role: str
    secret: str


def _token() -> str:
    return "inv_" + secrets.token_urlsafe(32)


def _mail(inv: InvitationModel, workspace: WorkspaceModel, token: str) -> None:
    text = (
        f"You are invited to join {workspace.name} as {inv.role}.\n"
        f"Accept with POST /v1/invitations/accept and this token (single use, until {clock.iso(inv.expires_at)}):\n"
        f"token={token}\n"
    )
    mail.send(inv.email, f"Join {workspace.name}", text)


def invite(principal: Principal, email: str, role: str) -> InvitationModel:
    """`POST /v1/invitations`: a pending invitation, its token mailed to `email`."""
    existing = users.by_email(email)
    if existing is not None and memberships.get(principal.workspace_id, existing.user_id, consistent=True):
        raise AlreadyMember(f"{email} is already a member of this workspace")
    now, token = clock.now(), _token()
    inv = invitations.new(
        principal.workspace_id,
        ids.new_id("inv", now),
        email,
        role,
        ids.hash_secret(token),
        principal.user_id,
        now,
        now + VALID_FOR,
    )
    invitations.save_new(inv)
    _mail(inv, principal.workspace, token)
    return inv


def list_invitations(workspace_id: str) -> list[InvitationModel]:
    return invitations.of_workspace(workspace_id)


def _pending(workspace_id: str, invitation_id: str) -> InvitationModel:
    inv = invitations.get(workspace_id, invitation_id) if ids.is_id(invitation_id, "inv") else None
    if inv is None:
        raise InvitationNotFound(f"invitation {invitation_id} not found")
    if inv.status != "pending":
        raise InvitationUsed(f"this invitation is {inv.status}", invitation_status=inv.status)
    return inv


def revoke(workspace_id: str, invitation_id: str) -> None:
    """`DELETE /v1/invitations/{id}`: its token stops working. Revoking twice changes nothing."""
    inv = invitations.get(workspace_id, invitation_id) if ids.is_id(invitation_id, "inv") else None
    if inv is None:
        raise InvitationNotFound(f"invitation {invitation_id} not found")
    if inv.status == "pending":
        invitations.revoke(inv)
    elif inv.status == "accepted":
        raise InvitationUsed("this invitation was accepted; remove the member instead", invitation_status=inv.status)


def resend(principal: Principal, invitation_id: str) -> InvitationModel:
    """A fresh token and expiry, mailed again; the previous token stops working."""
    inv = _pending(principal.workspace_id, invitation_id)
    token = _token()
    invitations.resend(inv, ids.hash_secret(token), clock.now() + VALID_FOR)
    _mail(inv, principal.workspace, token)
    return inv


def _usable(token: str, now: datetime) -> tuple[InvitationModel, WorkspaceModel]:
    inv = invitations.by_token_hash(ids.hash_secret(token))
    if inv is None:
        raise InvitationNotFound("no invitation for this token")
    status = "expired" if inv.status == "pending" and inv.expires_at <= now else inv.status
    if status != "pending":
        raise InvitationUsed(f"this invitation is {status}", invitation_status=status)
    workspace = workspaces.get(inv.workspace_id)
    if workspace is None:
        raise InvitationNotFound("no invitation for this token")
    return inv, workspace


def accept(token: str, caller: Principal | None) -> Accepted:
    """`POST /v1/invitations/accept`: join, once, before the expiry."""
    now = clock.now()
    inv, workspace = _usable(token, now)
    if caller is None:
        if users.by_email(inv.email) is not None:
            raise AlreadyMember("this email has an account: accept with its API key (Authorization: Bearer …)")
        person = users.new_user(ids.new_id("usr", now), inv.workspace_id, inv.email, role=inv.role, is_admin=False, now=now)
    elif caller.is_service:
        raise ServiceIdentity("a service key cannot accept an invitation")
    else:
        person = caller.user
        if memberships.get(inv.workspace_id, person.user_id, consistent=True) is not None:
            raise AlreadyMember("you already belong to this workspace")
    secret = ids.new_secret()
    txn = Transaction()
    invitations.accept_in(txn, inv, person.user_id, now)
    if caller is None:
        users.add_new(txn, person)
    elif person.workspace_id == inv.workspace_id:  # rejoining one's home workspace: its role lives on the user
        txn.update("home_role", person, [UserModel.role.set(inv.role)])
    memberships.add_in(txn, memberships.new_row(inv.workspace_id, person, inv.role, now))
    first_key_in(txn, person, now, secret, workspace_id=inv.workspace_id)
    audit_in(
        txn,
        inv.workspace_id,
        person.user_id,
        "invitation.accept",
        after={"invitation": inv.invitation_id, "role": inv.role},
        now=now,
    )
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "invitation" in cancelled.failures:
            raise InvitationUsed("this invitation was used, revoked or renewed meanwhile", invitation_status="used") from None
        raise AlreadyMember("you already belong to this workspace") from None
    return Accepted(users.get(person.user_id) or person, workspace, inv.role, secret)
