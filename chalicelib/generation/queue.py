"""The jobs queue: a `JobMessage` per admitted job (and per deferral: the same message, delayed)."""

from __future__ import annotations

from chalicelib.aws import client, queue_url
from chalicelib.generation.messages import JobMessage
from chalicelib.settings import get_settings


def enqueue_job(message: JobMessage, delay_s: int = 0) -> str:
    """Send the message (after `delay_s` seconds); returns the SQS message id."""
    response = client("sqs").send_message(
        QueueUrl=queue_url(get_settings().jobs_queue_name),
        MessageBody=message.body(),
        MessageAttributes=message.attributes(),
        DelaySeconds=delay_s,
    )
    return str(response["MessageId"])
