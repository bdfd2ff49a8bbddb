"""The webhooks queue: fan-out and attempt messages, delayed with SQS DelaySeconds.

SQS delays a message by at most 15 minutes; a later attempt is re-enqueued with the maximum
delay until it is due (the consumer checks `due` and sends it on again).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.aws import client, queue_url
from chalicelib.settings import get_settings

MAX_DELAY_S = 900


def send(message: dict[str, Any], delay_s: int = 0) -> None:
    """One message, delayed by `delay_s` (capped at SQS's maximum)."""
    client("sqs").send_message(
        QueueUrl=queue_url(get_settings().webhooks_queue_name),
        MessageBody=json.dumps(message, separators=(",", ":")),
        DelaySeconds=max(0, min(MAX_DELAY_S, int(delay_s))),
    )


def event_message(
    workspace_id: str, event_id: str, event_type: str, data: dict[str, Any], occurred_at: str, *, stored: bool = False
) -> dict[str, Any]:
    """An event to record and fan out; `stored`: its outbox row exists already."""
    message: dict[str, Any] = {
        "type": "event",
        "workspace_id": workspace_id,
        "event_id": event_id,
        "event_type": event_type,
        "data": data,
        "occurred_at": occurred_at,
    }
    if stored:
        message["stored"] = True
    return message


def attempt_message(workspace_id: str, delivery_id: str, attempt: int, due: int) -> dict[str, Any]:
    return {"type": "attempt", "workspace_id": workspace_id, "delivery_id": delivery_id, "attempt": attempt, "due": due}
