"""The audit trail: who changed what, before and after, and why. One helper builds every row.

Every admin mutation and every automatic change an operator must be able to explain (a plan
change from Stripe, auto top-up switched off) writes one: in the transaction of the change when
there is one (`audit_in(txn, ...)`), otherwise on its own (`audit(...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.store.models import AuditModel
from chalicelib.store.transaction import Transaction

PLATFORM = "platform"  # the target of platform-wide actions (a scheduled job run by hand)


@dataclass(frozen=True)
class AuditEntry:
    """An audit row as the admin views show it."""

    id: str
    target: str
    actor: str
    action: str
    before: Any
    after: Any
    reason: str | None
    created_at: datetime


def _row(
    target: str,
    actor: str,
    action: str,
    *,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> AuditModel:
    at = now or clock.now()
    return AuditModel(
        target,
        ids.new_id("aud", at),
        actor=actor,
        action=action,
        before=before,
        after=after,
        reason=reason or None,
        created_at=at,
    )


def audit(
    target: str,
    actor: str,
    action: str,
    *,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Write one audit row now (for a change that had no transaction of its own)."""
    _row(target, actor, action, before=before, after=after, reason=reason, now=now).save()


def audit_in(
    txn: Transaction,
    target: str,
    actor: str,
    action: str,
    *,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Add the audit row to `txn`: it exists exactly when the change does."""
    txn.put("audit", _row(target, actor, action, before=before, after=after, reason=reason, now=now))


def trail(target: str, limit: int = 50) -> list[AuditEntry]:
    """A target's newest audit rows."""
    return [
        AuditEntry(a.audit_id, a.target, a.actor, a.action, a.before, a.after, a.reason, a.created_at)
        for a in AuditModel.query(target, scan_index_forward=False, limit=limit)
    ]
