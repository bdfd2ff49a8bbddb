"""Delivery use cases for the API: an endpoint's deliveries (with attempts) and replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.store import webhook_deliveries, webhook_endpoints
from chalicelib.store.models import WebhookDeliveryModel
from chalicelib.webhooks import queue
from chalicelib.webhooks.endpoints import get_endpoint
from chalicelib.webhooks.errors import DeliveryNotFound, EndpointDisabled

Cursor = dict[str, Any]


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery as its owner sees it."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: list[dict[str, Any]]
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


def describe(d: WebhookDeliveryModel) -> DeliveryRecord:
    return DeliveryRecord(
        id=d.delivery_id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_type=d.event_type,
        status=d.status,
        attempts=list(d.attempts or []),
        next_attempt_at=datetime.fromtimestamp(int(d.next_attempt_at), UTC)
        if d.next_attempt_at and d.status == "pending"
        else None,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def list_deliveries(
    workspace_id: str, endpoint_id: str, limit: int, cursor: Cursor | None
) -> tuple[list[DeliveryRecord], Cursor | None]:
    """An endpoint's deliveries, newest first (the endpoint must be the caller's)."""
    get_endpoint(workspace_id, endpoint_id)
    rows, last = webhook_deliveries.of_endpoint(endpoint_id, limit, cursor)
    return [describe(d) for d in rows if d.workspace_id == workspace_id], last


def replay_delivery(workspace_id: str, delivery_id: str) -> DeliveryRecord:
    """Send a delivery again now, with the same `webhook-id`; refused for a disabled endpoint."""
    delivery = webhook_deliveries.get(workspace_id, delivery_id) if ids.is_id(delivery_id, "whd") else None
    if delivery is None:
        raise DeliveryNotFound("no such webhook delivery")
    endpoint = webhook_endpoints.get(workspace_id, delivery.endpoint_id)
    if endpoint is None or endpoint.status != "enabled":
        raise EndpointDisabled("the delivery's endpoint is disabled or deleted: enable it before replaying")
    now = clock.now()
    attempt = webhook_deliveries.reopen(delivery, now)
    queue.send(queue.attempt_message(workspace_id, delivery_id, attempt, int(now.timestamp())))
    return describe(delivery)
