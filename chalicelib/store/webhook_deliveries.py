"""Webhook delivery persistence: one row per (event, endpoint), with its attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.store.models import WebhookDeliveryModel

KEEP_S = 30 * 24 * 3600
MAX_ATTEMPTS_KEPT = 30  # the schedule has 10 attempts; replays add more, the oldest are dropped

Cursor = dict[str, Any]


def insert(workspace_id: str, delivery_id: str, *, endpoint_id: str, event_id: str, event_type: str, at: datetime) -> bool:
    """Write a new pending delivery once; False when it exists (a duplicate fan-out)."""
    row = WebhookDeliveryModel(
        workspace_id,
        delivery_id,
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=event_type,
        status="pending",
        attempts_made=0,
        attempts=[],
        next_attempt_at=int(at.timestamp()),
        created_at=at,
        expires_at=int(at.timestamp()) + KEEP_S,
    )
    try:
        row.save(condition=WebhookDeliveryModel.delivery_id.does_not_exist())
    except PutError as error:
        if _conditional(error):
            return False
        raise
    return True


def get(workspace_id: str, delivery_id: str) -> WebhookDeliveryModel | None:
    try:
        return WebhookDeliveryModel.get(workspace_id, delivery_id, consistent_read=True)
    except WebhookDeliveryModel.DoesNotExist:
        return None


def of_endpoint(endpoint_id: str, limit: int, cursor: Cursor | None) -> tuple[list[WebhookDeliveryModel], Cursor | None]:
    """A page of an endpoint's deliveries, newest first (the index is eventually consistent)."""
    result = WebhookDeliveryModel.by_endpoint.query(endpoint_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key


def of_workspace(workspace_id: str, limit: int) -> list[WebhookDeliveryModel]:
    """The workspace's newest `limit` deliveries, every endpoint (ids sort by time)."""
    return list(WebhookDeliveryModel.query(workspace_id, scan_index_forward=False, limit=limit))


def claim_attempt(delivery: WebhookDeliveryModel, attempt: int) -> bool:
    """Take attempt number `attempt` (0-based) of a pending delivery: exactly one consumer gets
    it, whatever duplicate messages or replays race for it."""
    try:
        delivery.update(
            actions=[WebhookDeliveryModel.attempts_made.set(attempt + 1)],
            condition=(WebhookDeliveryModel.attempts_made == attempt) & (WebhookDeliveryModel.status == "pending"),
        )
    except UpdateError as error:
        if _conditional(error):
            return False
        raise
    return True


def record_attempt(
    delivery: WebhookDeliveryModel, attempt: dict[str, Any], status: str, next_at: int | None, now: datetime
) -> None:
    """Append one attempt's result and the delivery's new state."""
    attempts = [*(delivery.attempts or []), attempt][-MAX_ATTEMPTS_KEPT:]
    actions: list[Any] = [
        WebhookDeliveryModel.attempts.set(attempts),
        WebhookDeliveryModel.status.set(status),
        WebhookDeliveryModel.updated_at.set(now),
    ]
    actions.append(
        WebhookDeliveryModel.next_attempt_at.set(next_at)
        if next_at is not None
        else WebhookDeliveryModel.next_attempt_at.remove()
    )
    delivery.update(actions=actions)


def give_up(delivery: WebhookDeliveryModel, reason: str, now: datetime) -> None:
    """End a pending delivery without an attempt (its endpoint was disabled or deleted)."""
    attempt = {"at": int(now.timestamp()), "status_code": None, "latency_ms": 0, "error": reason, "response": None}
    record_attempt(delivery, attempt, "failed", None, now)


def reopen(delivery: WebhookDeliveryModel, now: datetime) -> int:
    """Replay: the delivery is pending again from its current attempt count (returned)."""
    delivery.update(
        actions=[
            WebhookDeliveryModel.status.set("pending"),
            WebhookDeliveryModel.next_attempt_at.set(int(now.timestamp())),
            WebhookDeliveryModel.updated_at.set(now),
        ]
    )
    return int(delivery.attempts_made)


def _conditional(error: PutError | UpdateError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
