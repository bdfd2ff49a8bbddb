"""The local stages' outbox: mail "sent" there is kept (7 days) for tests and the admin page."""

from __future__ import annotations

from datetime import datetime

from chalicelib import ids
from chalicelib.store.models import OutboxMailModel

KEEP_S = 7 * 86_400


def add(to: str, subject: str, text: str, now: datetime) -> None:
    OutboxMailModel(
        to.lower(),
        ids.new_id("mail", now),
        subject=subject,
        text=text,
        created_at=now,
        expires_at=int(now.timestamp()) + KEEP_S,
    ).save()


def latest(to: str, limit: int = 50) -> list[OutboxMailModel]:
    """Mail to `to`, newest first."""
    return list(OutboxMailModel.query(to.lower(), scan_index_forward=False, limit=limit, consistent_read=True))
