"""The jobs queue: a message per admitted job, carrying the correlation id as an attribute."""

from __future__ import annotations

import json

from chalicelib.aws import client, queue_url
from chalicelib.settings import get_settings


def enqueue_job(workspace_id: str, job_id: str, correlation_id: str | None, delay_s: int = 0,
                admission_ms: int | None = None, provider: str | None = None, images: int | None = None) -> str:
    attributes = {}
    if correlation_id:
        attributes["correlation_id"] = {"DataType": "String", "StringValue": correlation_id}
    response = client("sqs").send_message(
        QueueUrl=queue_url(get_settings().jobs_queue_name),
        MessageBody=json.dumps({"workspace_id": workspace_id, "job_id": job_id, "admission_ms": admission_ms,
                                "provider": provider, "images": images}),
        MessageAttributes=attributes,
        DelaySeconds=delay_s,
    )
    return str(response["MessageId"])
