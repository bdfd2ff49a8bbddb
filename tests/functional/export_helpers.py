"""Helpers for the exports tests: the exports queue, its worker, the zips it writes."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import requests

from chalicelib.aws import client, queue_url
from chalicelib.local.lambda_events import LocalContext
from chalicelib.settings import get_settings
from tests.functional.helpers import call, event_from, receive


def take_messages(export_id: str) -> list[dict[str, Any]]:
    """The messages of `export_id` on the exports queue. Everything visible is taken off it:
    tests run one after another in a process, so what earlier tests left is garbage."""
    name = get_settings().exports_queue_name
    mine: list[dict[str, Any]] = []
    while batch := receive(10, name):
        for message in batch:
            client("sqs").delete_message(QueueUrl=queue_url(name), ReceiptHandle=message["ReceiptHandle"])
            if json.loads(message["Body"]).get("export_id") == export_id:
                mine.append(message)
    return mine


def run_exports_worker(messages: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """The exports worker Lambda on these messages, as the n-th receive of each."""
    import app as chalice_app

    count = {"ApproximateReceiveCount": str(receive_count)}
    copies = [{**m, "Attributes": {**(m.get("Attributes") or {}), **count}} for m in messages]
    name = get_settings().exports_queue_name
    return dict(chalice_app.exports_worker(event_from(copies, name), LocalContext("exports_worker", 300)))


def create(api: Any, tenant: Any, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    status, answer, _ = call(api, "POST", "/v1/exports", tenant, body, headers=headers or None)
    assert status == 202, answer
    return dict(answer["export"])


def export_of(api: Any, tenant: Any, export_id: str) -> dict[str, Any]:
    status, body, _ = call(api, "GET", f"/v1/exports/{export_id}", tenant)
    assert status == 200, body
    return dict(body["export"])


def download_zip(url: str) -> zipfile.ZipFile:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text[:200]
    return zipfile.ZipFile(io.BytesIO(answer.content))


def pending(workspace_id: str) -> int:
    from chalicelib.store import library_index

    return library_index.usage(workspace_id).get(library_index.EXPORTS_PENDING, 0)
