"""Helpers for the trainings tests: coloured library images, the trainings queue and its worker."""

from __future__ import annotations

import io
import json
from typing import Any

from chalicelib import clock, ids
from chalicelib.aws import client, queue_url
from chalicelib.local.lambda_events import LocalContext
from chalicelib.settings import get_settings
from tests.conftest import Tenant
from tests.functional.helpers import call, event_from, receive

RED = (210, 40, 40)


def png(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    """A picture of one colour with a lighter stripe (so it has a tone curve, not one level)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 3, size[1]), fill=tuple(min(255, c + 30) for c in colour))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_pictures(tenant: Tenant, n: int = 5, colour: tuple[int, int, int] = RED, folder_id: str | None = None) -> list[str]:
    """n library images with real PNG objects of about `colour` (rows as settlement writes them)."""
    from chalicelib.library.changes import index_rows
    from chalicelib.store import images as image_store
    from chalicelib.store import library_index
    from chalicelib.store.models import ImageModel

    s3, bucket, now = client("s3"), get_settings().images_bucket, clock.now()
    rows = []
    for k in range(n):
        image_id = ids.new_id("img", now)
        key = f"images/{tenant.workspace_id}/seed/{image_id}.png"
        data = png(tuple(max(0, min(255, c + 3 * k)) for c in colour))  # type: ignore[arg-type]
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/png")
        row = image_store.new_image(
            tenant.workspace_id, image_id, job_id="job_seed", user_id=tenant.user_id, s3_key=key,
            width=48, height=32, content_type="image/png", size_bytes=len(data), source_image_id=None, kind="upload",
            created_at=now, prompt=None, provider=None, model=None,
        )  # fmt: skip
        if folder_id is not None:
            row.folder_id, row.folder_key = folder_id, image_store.folder_key(tenant.workspace_id, folder_id)
        rows.append(row)
    library_index.put_facets(tenant.workspace_id, index_rows(rows))
    with ImageModel.batch_write() as batch:
        for row in rows:
            batch.save(row)
    return [str(row.image_id) for row in rows]


def take_messages(training_id: str | None = None) -> list[dict[str, Any]]:
    """The messages of `training_id` (or all) on the trainings queue, taken off it."""
    name = get_settings().trainings_queue_name
    mine: list[dict[str, Any]] = []
    while batch := receive(10, name):
        for message in batch:
            client("sqs").delete_message(QueueUrl=queue_url(name), ReceiptHandle=message["ReceiptHandle"])
            if training_id is None or json.loads(message["Body"]).get("training_id") == training_id:
                mine.append(message)
    return mine


def run_trainings_worker(messages: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """The trainings worker Lambda on these messages, as the n-th receive of each."""
    import app as chalice_app

    count = {"ApproximateReceiveCount": str(receive_count)}
    copies = [{**m, "Attributes": {**(m.get("Attributes") or {}), **count}} for m in messages]
    name = get_settings().trainings_queue_name
    return dict(chalice_app.trainings_worker(event_from(copies, name), LocalContext("trainings_worker", 300)))


def create(api: Any, tenant: Any, body: dict[str, Any], status: int = 202, **headers: str) -> dict[str, Any]:
    got, answer, _ = call(api, "POST", "/v1/trainings", tenant, body, headers=headers or None)
    assert got == status, answer
    return dict(answer.get("training") or answer)


def training_of(api: Any, tenant: Any, training_id: str) -> dict[str, Any]:
    status, body, _ = call(api, "GET", f"/v1/trainings/{training_id}", tenant)
    assert status == 200, body
    return dict(body["training"])


def train(api: Any, tenant: Any, image_ids: list[str], **extra: Any) -> dict[str, Any]:
    """A training created, run by the worker from its queued message, and read back."""
    made = create(api, tenant, {"name": "house style", "upload_ids": image_ids, **extra})
    run_trainings_worker(take_messages(made["id"]))
    return training_of(api, tenant, made["id"])


def wallet(workspace_id: str) -> tuple[int, int]:
    """(available, held) of the workspace's wallet."""
    from chalicelib.store.models import WalletModel

    row = WalletModel.get(workspace_id, consistent_read=True)
    return int(row.available), int(row.held)


def ledger_types(workspace_id: str, training_id: str) -> list[str]:
    """The ledger entries about the training, oldest first."""
    from chalicelib.store.models import LedgerEntryModel

    rows = [row for row in LedgerEntryModel.query(workspace_id, consistent_read=True) if row.job_id == training_id]
    return [str(row.type) for row in rows]
