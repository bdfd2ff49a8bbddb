"""Zapier REST hooks: a Zap subscribes a target URL to one event, and unsubscribes it when it is
turned off. A subscription is a webhook endpoint of kind "zapier" (one target URL per Zap), so
its deliveries are the same signed, retried, recorded deliveries as any endpoint's. Samples (for
the Zap editor and Zapier's deduplication) are the workspace's newest events of the type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.store import webhook_events
from chalicelib.webhooks import endpoints

SAMPLES_LIMIT = 10


@dataclass(frozen=True)
class Sample:
    """One event as a Zap sees it: the delivery body plus the `id` Zapier dedupes on."""

    id: str
    type: str
    timestamp: str
    data: dict[str, Any]


def subscribe(workspace_id: str, actor: str, target_url: str, event: str) -> str:
    """A new subscription (its URL passes the SSRF guard); returns its id."""
    made = endpoints.create_endpoint(workspace_id, actor, target_url, [event], "Zapier", kind="zapier")
    return made.endpoint.id


def unsubscribe(workspace_id: str, subscription_id: str, actor: str) -> None:
    """Remove a subscription of this workspace (another's, or a webhook endpoint, is not found)."""
    endpoints.delete_endpoint(workspace_id, subscription_id, actor, kind="zapier")


def samples(workspace_id: str, event: str) -> list[Sample]:
    """The newest events of the type, newest first; a made-up example when there is none yet
    (the Zap editor needs one to map fields)."""
    rows = webhook_events.newest_of_type(workspace_id, event, SAMPLES_LIMIT)
    found = [Sample(r.event_id, r.type, str(clock.iso(r.occurred_at)), dict(r.data or {})) for r in rows]
    return found or [_example(event)]


def _example(event: str) -> Sample:
    kind = event.split(".", 1)[0]
    status = event.split(".", 1)[1] if "." in event else ""
    data: dict[str, Any] = {kind: {"id": f"{kind}_example", "status": status}}
    return Sample("evt_example", event, "2026-01-01T00:00:00Z", data)
