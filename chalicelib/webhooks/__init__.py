"""Outgoing webhooks: signed (Standard Webhooks) deliveries of domain events to endpoints.

Producers call `emit` (after their change committed); the webhooks queue's consumer fans each
event out to the listening endpoints and makes the attempts (`delivery`); `endpoints` and
`service` are the use cases behind /v1/webhook-endpoints and /v1/webhook-deliveries.
"""

from __future__ import annotations

from chalicelib.webhooks.events import EVENT_TYPES, JOB_EVENTS, event_id
from chalicelib.webhooks.outbox import emit, emit_safely

__all__ = ["EVENT_TYPES", "JOB_EVENTS", "emit", "emit_safely", "event_id"]
