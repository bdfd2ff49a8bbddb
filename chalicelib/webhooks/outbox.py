"""`emit`: the one seam producers call when something happened that receivers may care about.

Called AFTER the producer's state change committed, with an event id derived from the business
key (`events.event_id`), so a retried or duplicated trigger emits the same id. `emit` itself makes
no DynamoDB request (a settlement stays one request, DESIGN.md's budget): it sends the event on
the webhooks queue, whose consumer (`record`) writes the outbox row once per event id and fans it
out to the endpoints listening at that moment. Delivery never happens inline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.observability import count, logger
from chalicelib.store import webhook_endpoints, webhook_events
from chalicelib.webhooks import queue
from chalicelib.webhooks.events import EVENT_TYPES


def emit(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime | None = None) -> None:
    """Queue the event (one SQS message); `record` turns it into the outbox row and deliveries."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    occurred = clock.iso(at or clock.now())
    queue.send(queue.event_message(workspace_id, event_id, event_type, data, str(occurred)))
    count("OutgoingEvents", type=event_type)


def emit_safely(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime | None = None) -> None:
    """`emit` for producers whose own work is done and must not fail because of it (a settlement,
    a payment): a failure is logged with `error_code` and counted, and the producer goes on."""
    try:
        emit(event_type, workspace_id, data, event_id, at)
    except Exception:  # the producer's change is committed: report, never undo or fail it
        count("WebhookEmitErrors", type=event_type)
        logger.exception("webhook event not emitted", extra={"error_code": "webhook_emit_failed", "event_id": event_id})


def record(workspace_id: str, event_id: str, event_type: str, data: dict[str, Any], occurred_at: datetime) -> bool:
    """The consumer's half: write the outbox row once; True when it needs a fan-out now.

    Nothing is written when no endpoint listens (most workspaces); a duplicate of an event
    already fanned out is dropped, one whose fan-out was interrupted is fanned out again."""
    if not webhook_endpoints.subscribed(workspace_id, event_type):
        return False
    if webhook_events.insert(workspace_id, event_id, event_type, data, occurred_at):
        return True
    existing = webhook_events.get(workspace_id, event_id)
    return existing is not None and not existing.fanned_out
