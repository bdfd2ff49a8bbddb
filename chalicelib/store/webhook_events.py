"""The outbox of domain events: one row per event id, written once, fanned out once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.store.models import WebhookEventModel

KEEP_S = 30 * 24 * 3600  # events (and Zapier samples) are kept a month


def insert(workspace_id: str, event_id: str, event_type: str, data: dict[str, Any], at: datetime) -> bool:
    """Write the event once; False when an event with this id exists (a duplicate trigger)."""
    row = WebhookEventModel(
        workspace_id,
        event_id,
        type=event_type,
        workspace_type=f"{workspace_id}#{event_type}",
        data=data,
        occurred_at=at,
        fanned_out=False,
        expires_at=int(at.timestamp()) + KEEP_S,
    )
    try:
        row.save(condition=WebhookEventModel.event_id.does_not_exist())
    except PutError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get(workspace_id: str, event_id: str) -> WebhookEventModel | None:
    try:
        return WebhookEventModel.get(workspace_id, event_id, consistent_read=True)
    except WebhookEventModel.DoesNotExist:
        return None


def mark_fanned_out(workspace_id: str, event_id: str) -> None:
    """Every matching endpoint has its delivery row: a duplicate trigger needs no new fan-out."""
    WebhookEventModel(workspace_id, event_id).update(actions=[WebhookEventModel.fanned_out.set(True)])


def newest_of_type(workspace_id: str, event_type: str, limit: int) -> list[WebhookEventModel]:
    """A workspace's newest events of one type (ids sort by time)."""
    return list(WebhookEventModel.by_type.query(f"{workspace_id}#{event_type}", scan_index_forward=False, limit=limit))
