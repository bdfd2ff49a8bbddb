"""What the producers announce: the event data of a finished job and of a top-up.

Each function is called after the producer's change committed (exactly once per change: the
settlement's hold guard, the top-up failure marker) and never fails its caller (`emit_safely`).
The event id is derived from the business key, so a duplicate trigger repeats the same id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.prices import TRAIN_KIND
from chalicelib.store.models import ExportModel, JobModel
from chalicelib.webhooks.events import JOB_EVENTS, event_id
from chalicelib.webhooks.outbox import emit, emit_safely


def job_finished(
    job: JobModel,
    status: str,
    finished_at: datetime,
    images: list[dict[str, Any]],
    error: dict[str, str] | None,
    usage: dict[str, int],
) -> None:
    """job.succeeded / job.failed / job.canceled, keyed by (job, final status); the event's
    time part is the job's creation time, so every trigger of it derives the same id."""
    if job.kind == TRAIN_KIND:  # a training's row is a job row (store/trainings.py): its own events
        training_finished(job, status, finished_at, error, usage)
        return
    event_type = JOB_EVENTS.get(status)
    if event_type is None:
        return
    data = {
        "job": {
            "id": job.job_id,
            "status": status,
            "kind": job.kind,
            "provider": job.provider,
            "model": job.model,
            "n": int(job.n),
            "user_id": job.user_id,
            "created_at": clock.iso(job.created_at),
            "finished_at": clock.iso(finished_at),
            "error": error,
            "image_ids": [str(image.get("id")) for image in images],
            "credits_charged": int(usage.get("credits_charged", 0)),
        }
    }
    at = ids.id_time(job.job_id)
    emit_safely(event_type, job.workspace_id, data, event_id(f"job:{job.job_id}:{status}", at), finished_at)


def topup_finished(
    workspace_id: str, payment: str, *, succeeded: bool, credits: int | None = None, reason: str | None = None
) -> None:
    """topup.succeeded / topup.failed of an auto top-up, keyed by its payment (intent or key)."""
    event_type = "topup.succeeded" if succeeded else "topup.failed"
    data: dict[str, Any] = {"topup": {"payment": payment, "credits": credits, "reason": reason}}
    now = clock.now()
    emit_safely(event_type, workspace_id, data, event_id(f"topup:{payment}:{event_type}", now), now)


def export_ready(export: ExportModel) -> None:
    """export.ready, keyed by the export (its time part is the export's creation), emitted by the
    exports worker once the zip is ready. Unlike the others it raises when the event cannot be
    queued: the worker's message then comes back and emits it (the same id) before it is marked
    sent. No URL in it (a URL expires before late retries would deliver it): receivers read
    `GET /v1/exports/{id}` for a fresh one."""
    data = {
        "export": {
            "id": export.export_id,
            "status": "ready",
            "user_id": export.user_id,
            "folder_id": export.folder_id,
            "image_count": int(export.included or 0),
            "skipped": int(export.skipped or 0),
            "bytes": int(export.zip_bytes or 0),
            "created_at": clock.iso(export.created_at),
            "finished_at": clock.iso(export.finished_at),
            "expires_at": clock.iso(export.expires_at),
        }
    }
    at = ids.id_time(export.export_id)
    emit("export.ready", export.workspace_id, data, event_id(f"export:{export.export_id}:ready", at), export.finished_at)


# --- custom model training (issue 16) -------------------------------------------------------------
TRAINING_EVENTS = {"succeeded": "training.succeeded", "failed": "training.failed"}  # a cancel is the caller's own act


def training_finished(
    job: JobModel, status: str, finished_at: datetime, error: dict[str, str] | None, usage: dict[str, int]
) -> None:
    """training.succeeded / training.failed, keyed by (training, final status), emitted by the
    settlement or release that ended it (exactly once: the hold's guard)."""
    event_type = TRAINING_EVENTS.get(status)
    if event_type is None:
        return
    params = job.params or {}
    data = {
        "training": {
            "id": job.job_id,
            "status": status,
            "name": params.get("name"),
            "model": job.job_id if status == "succeeded" else None,
            "user_id": job.user_id,
            "image_count": int(job.n),
            "created_at": clock.iso(job.created_at),
            "finished_at": clock.iso(finished_at),
            "error": error,
            "credits_charged": int(usage.get("credits_charged", 0)),
        }
    }
    at = ids.id_time(job.job_id)
    emit_safely(event_type, job.workspace_id, data, event_id(f"training:{job.job_id}:{status}", at), finished_at)
