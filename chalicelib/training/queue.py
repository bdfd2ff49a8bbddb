"""The trainings queue: one message per admitted training (and per poll of a hosted one, delayed)."""

from __future__ import annotations

import json

from chalicelib.aws import client, queue_url
from chalicelib.settings import get_settings


def enqueue_training(workspace_id: str, training_id: str, correlation_id: str | None, delay_s: int = 0) -> str:
    """Send the training's message (after `delay_s` seconds, at most SQS's 900); returns its id."""
    body = {"workspace_id": workspace_id, "training_id": training_id}
    attributes = {"correlation_id": {"DataType": "String", "StringValue": correlation_id}} if correlation_id else {}
    response = client("sqs").send_message(
        QueueUrl=queue_url(get_settings().trainings_queue_name),
        MessageBody=json.dumps(body, separators=(",", ":")),
        MessageAttributes=attributes,
        DelaySeconds=min(900, max(0, delay_s)),
    )
    return str(response["MessageId"])
