"""Helpers for functional tests: JSON calls through chalice.test and draining the jobs queue."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.aws import client, queue_url
from chalicelib.local.lambda_events import LocalContext, sqs_event
from chalicelib.settings import get_settings


@contextmanager
def app_client() -> Iterator[Any]:
    """Chalice's in-process test client over the real app, run as stage `test`.

    The client puts a chalice stage's variables into os.environ while it is open (the `dev`
    stage by default: STAGE=dev, which refuses the local provider); the tests' own stage wins."""
    from chalice.test import Client

    import app as chalice_app
    from chalicelib.settings import reset_settings

    with Client(chalice_app.app, stage_name="local") as client:
        os.environ.update({"STAGE": "test", "POWERTOOLS_METRICS_NAMESPACE": "ImageGenTest", "POWERTOOLS_LOG_LEVEL": "WARNING"})
        reset_settings()
        yield client
    reset_settings()


def call(
    api: Any,
    method: str,
    path: str,
    tenant: Any = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | str | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Make one request; returns (status, json body, headers)."""
    h = {"Content-Type": "application/json"}
    if tenant is not None:
        h.update(tenant.auth)
    h.update(headers or {})
    payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
    response = (
        getattr(api.http, method.lower())(path, headers=h, body=payload)
        if payload is not None
        else getattr(api.http, method.lower())(path, headers=h)
    )
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {"_text": text}
    return response.status_code, data, dict(response.headers)


def receive(max_messages: int = 10, queue_name: str | None = None) -> list[dict[str, Any]]:
    """Raw `receive_message` output (attributes included) from the jobs queue."""
    name = queue_name or get_settings().jobs_queue_name
    response = client("sqs").receive_message(
        QueueUrl=queue_url(name),
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return response.get("Messages", [])


def event_from(messages: list[dict[str, Any]], queue_name: str | None = None) -> dict[str, Any]:
    s = get_settings()
    name = queue_name or s.jobs_queue_name
    return sqs_event(messages, f"arn:aws:sqs:{s.region}:123456789012:{name}", s.region)


def run_worker(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Invoke the worker Lambda with an SQS event built from real receive_message output."""
    import app as chalice_app

    return chalice_app.worker(event_from(messages), LocalContext("worker", 60))


def drain(max_rounds: int = 20) -> int:
    """Run the worker over everything on the jobs queue, deleting what succeeded."""
    total = 0
    for _ in range(max_rounds):
        messages = receive()
        if not messages:
            return total
        result = run_worker(messages)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            client("sqs").delete_message_batch(
                QueueUrl=queue_url(get_settings().jobs_queue_name),
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        total += len(messages)
    return total


def purge() -> None:
    """Empty the jobs queue (tests that count messages)."""
    sqs = client("sqs")
    url = queue_url(get_settings().jobs_queue_name)
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0).get(
            "Messages", []
        )
        if not msgs:
            return
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
        )


@contextmanager
def get_items_of(model: Any) -> Iterator[list[dict[str, Any]]]:
    """The GetItem requests made on `model`'s table inside the block (their parameters): what a
    test of read consistency looks at, since moto answers every read consistently."""
    seen: list[dict[str, Any]] = []
    table = model.Meta.table_name

    def watch(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == table:
            seen.append(params)

    events = model._get_connection().connection.client.meta.events
    events.register("provide-client-params.dynamodb.GetItem", watch)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", watch)
