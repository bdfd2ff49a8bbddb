"""`emit`: the one seam producers call when something happened that receivers may care about.

Called AFTER the producer's state change committed, with an event id derived from the business
key (`events.event_id`), so a retried or duplicated trigger emits the same id. Delivery never
happens inline: the event goes on the webhooks queue, whose consumer (`record`) writes the
outbox row once per event id and fans it out to the endpoints listening at that moment.

Two ways in:
- `emit` / `emit_safely` make no DynamoDB request on the happy path (a settlement stays one
  request, DESIGN.md's budget): one SQS message. If that send fails, `emit_safely` writes the
  outbox row instead, and the sweeper sends it.
- `pending_row` + `announce` (or `emit_stored`) write the outbox row first, in the producer's
  own transaction where it has one, then send; rare events (balance.low) take this way.

The sweeper (`sweep`, scheduled every 5 minutes) sends again every row not fanned out
OUTBOX_SWEEP_AFTER_S after it was written or last sent: a process that died between the row and
the message, a failed send, a fan-out that died. The consumer dedupes (one row per event id, one
delivery per (event, endpoint), one HTTP attempt per attempt number), so a re-send that races the
original changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings
from chalicelib.store import webhook_endpoints, webhook_events
from chalicelib.store.models import WebhookEventModel
from chalicelib.webhooks import queue
from chalicelib.webhooks.events import EVENT_TYPES

SWEEP_BATCH = 500  # events re-sent per sweeper run at most (the rest wait for the next run)


def emit(
    event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime | None = None, *, stored: bool = False
) -> None:
    """Queue the event (one SQS message); `record` turns it into the outbox row and deliveries.
    `stored`: its outbox row is written already (the consumer then settles that row)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    occurred = clock.iso(at or clock.now())
    queue.send(queue.event_message(workspace_id, event_id, event_type, data, str(occurred), stored=stored))
    count("OutgoingEvents", type=event_type)


def emit_safely(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime | None = None) -> None:
    """`emit` for producers whose own work is done and must not fail because of it (a settlement,
    a payment): when the send fails, the outbox row is written for the sweeper to send; only when
    that fails too is the event lost (logged with `error_code`, counted)."""
    try:
        emit(event_type, workspace_id, data, event_id, at)
    except Exception:  # the producer's change is committed: report, never undo or fail it
        count("WebhookEmitErrors", type=event_type)
        logger.warning(
            "webhook event not queued: kept for the sweeper", extra={"error_code": "webhook_emit_failed", "event_id": event_id}
        )
        _keep_for_sweeper(event_type, workspace_id, data, event_id, at or clock.now())


def _keep_for_sweeper(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime) -> None:
    try:
        webhook_events.insert(workspace_id, event_id, event_type, data, at, int(clock.now().timestamp()))
    except Exception:
        count("WebhookEventsLost")  # no dimension: the alarm outgoing-events-lost watches the total
        logger.exception("webhook event lost", extra={"error_code": "webhook_event_lost", "event_id": event_id})


def pending_row(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime) -> WebhookEventModel:
    """The outbox row a producer writes itself (put it with `event_id.does_not_exist()` in its
    own transaction), then `announce`s: the sweeper sends it if the announcement never comes."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return webhook_events.row(workspace_id, event_id, event_type, data, at, _sweep_after())


def announce(event: WebhookEventModel) -> None:
    """Send a stored event's message; a failure is only logged (the sweeper sends it later)."""
    try:
        emit(event.type, event.workspace_id, dict(event.data or {}), event.event_id, event.occurred_at, stored=True)
    except Exception:
        count("WebhookEmitErrors", type=event.type)
        logger.warning(
            "stored event not queued: the sweeper sends it",
            extra={"error_code": "webhook_emit_failed", "event_id": event.event_id},
        )


def emit_stored(event_type: str, workspace_id: str, data: dict[str, Any], event_id: str, at: datetime) -> bool:
    """Write the outbox row, then announce it; False (nothing sent) for a duplicate trigger."""
    event = pending_row(event_type, workspace_id, data, event_id, at)
    if not webhook_events.insert(workspace_id, event_id, event_type, data, at, int(event.sweep_after)):
        return False
    announce(event)
    return True


def _sweep_after() -> int:
    return int(clock.now().timestamp()) + get_settings().outbox_sweep_after_s


def record(
    workspace_id: str, event_id: str, event_type: str, data: dict[str, Any], occurred_at: datetime, *, stored: bool = False
) -> bool:
    """The consumer's half: write the outbox row once; True when it needs a fan-out now.

    Nothing is written when no endpoint listens (most workspaces), and a stored row is settled
    (the sweeper forgets it); a duplicate of an event already fanned out is dropped, one whose
    fan-out was interrupted is fanned out again."""
    if not webhook_endpoints.subscribed(workspace_id, event_type):
        if stored:
            webhook_events.mark_fanned_out(workspace_id, event_id)
        return False
    if webhook_events.insert(workspace_id, event_id, event_type, data, occurred_at, _sweep_after()):
        return True
    existing = webhook_events.get(workspace_id, event_id)
    return existing is not None and not existing.fanned_out


def sweep(limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Send again the events not fanned out past their `sweep_after` (the scheduled sweeper)."""
    now = int(clock.now().timestamp())
    resent = skipped = 0
    for event in webhook_events.due(now, limit):
        if not webhook_events.claim_resend(event, now + get_settings().outbox_sweep_after_s):
            skipped += 1  # another sweeper took it, or it was fanned out meanwhile
            continue
        emit(event.type, event.workspace_id, dict(event.data or {}), event.event_id, event.occurred_at, stored=True)
        resent += 1
    if resent:
        count("OutboxResent", resent)
        logger.warning("outbox events sent again", extra={"resent": resent})
    return {"resent": resent, "skipped": skipped}
