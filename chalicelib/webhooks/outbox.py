"""`emit`: the one seam producers call when something happened that receivers may care about.

Called AFTER the producer's state change committed, with an event id derived from the business
key (`events.event_id`), so a retried or duplicated trigger emits the same id. It writes the
outbox row once and queues its fan-out; delivery happens in the webhooks consumer, never inline.
It costs one query when the workspace has no endpoint for the event, and writes nothing then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.observability import count, logger
from chalicelib.store import webhook_endpoints, webhook_events
from chalicelib.webhooks import queue
from chalicelib.webhooks.events import EVENT_TYPES


def emit(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime | None = None) -> bool:
    """Record the event and queue its fan-out; False when nobody listens or it was fanned out before."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not webhook_endpoints.subscribed(workspace_id, event_type):
        return False
    created = webhook_events.insert(workspace_id, event_id, event_type, data, at or clock.now())
    if not created:
        existing = webhook_events.get(workspace_id, event_id)
        if existing is None or existing.fanned_out:
            return False  # a duplicate trigger of an event already fanned out
    queue.send(queue.fan_out_message(workspace_id, event_id))
    count("WebhookEvents", type=event_type)
    return True


def emit_safely(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime | None = None) -> None:
    """`emit` for producers whose own work is done and must not fail because of it (a settlement,
    a payment): a failure is logged with `error_code` and counted, and the producer goes on."""
    try:
        emit(event_type, workspace_id, data, event_id, at)
    except Exception:  # the producer's change is committed: report, never undo or fail it
        count("WebhookEmitErrors", type=event_type)
        logger.exception("webhook event not emitted", extra={"error_code": "webhook_emit_failed", "event_id": event_id})
