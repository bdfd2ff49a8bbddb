"""Invitations: one row per invitation, keyed (workspace, inv_<ULID>), found by its token's hash.

Single use: accepting moves `pending → accepted` under a condition on the status, the token's
hash and the expiry, in the transaction that adds the member; a resend replaces the hash (the
old token stops working) and the expiry.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.models import InvitationModel
from chalicelib.store.transaction import Transaction

PAGE = 100


def new(
    workspace_id: str, invitation_id: str, email: str, role: str, token_hash: str, by: str, now: datetime, expires: datetime
) -> InvitationModel:
    return InvitationModel(
        workspace_id,
        invitation_id,
        email=email.lower(),
        role=role,
        status="pending",
        token_hash=token_hash,
        invited_by=by,
        expires_at=expires,
        created_at=now,
        sent_count=1,
    )


def save_new(inv: InvitationModel) -> None:
    inv.save(InvitationModel.invitation_id.does_not_exist())


def get(workspace_id: str, invitation_id: str) -> InvitationModel | None:
    try:
        return InvitationModel.get(workspace_id, invitation_id, consistent_read=True)
    except InvitationModel.DoesNotExist:
        return None


def by_token_hash(token_hash: str) -> InvitationModel | None:
    """The invitation whose current token hashes to `token_hash` (read again, consistently)."""
    found = next(iter(InvitationModel.by_token.query(token_hash, limit=1)), None)
    if found is None:
        return None
    inv = get(found.workspace_id, found.invitation_id)
    return inv if inv is not None and inv.token_hash == token_hash else None


def of_workspace(workspace_id: str) -> list[InvitationModel]:
    """The workspace's invitations, newest first (the latest PAGE)."""
    return list(InvitationModel.query(workspace_id, scan_index_forward=False, limit=PAGE))


def resend(inv: InvitationModel, token_hash: str, expires: datetime) -> None:
    """A new token and expiry for a pending invitation (the instance is refreshed)."""
    inv.update(
        actions=[
            InvitationModel.token_hash.set(token_hash),
            InvitationModel.expires_at.set(expires),
            InvitationModel.sent_count.add(1),
        ],
        condition=InvitationModel.status == "pending",
    )


def revoke(inv: InvitationModel) -> None:
    inv.update(actions=[InvitationModel.status.set("revoked")], condition=InvitationModel.status == "pending")


def accept_in(txn: Transaction, inv: InvitationModel, user_id: str, now: datetime) -> None:
    """Use the invitation once: still pending, the same token, not expired."""
    txn.update(
        "invitation",
        inv,
        [InvitationModel.status.set("accepted"), InvitationModel.accepted_by.set(user_id), InvitationModel.accepted_at.set(now)],
        (InvitationModel.status == "pending")
        & (InvitationModel.token_hash == inv.token_hash)
        & (InvitationModel.expires_at > now),
        return_old=True,
    )
