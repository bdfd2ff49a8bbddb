"""Training persistence: a training is a row of the jobs table keyed `trn_…`, of kind `train`.

Why a job row: admission (`accounting.admission.admit_job`) writes the row it is given in the
same transaction as the hold, the ledger entry, the rate windows and the quotas, and settlement
and release end it in one transaction guarded by the hold. A training therefore gets the same
exactly-once accounting as a job without a second admission path. The `trn_` prefix keeps the
rows apart: job listings read `job_…` keys only, training listings `trn_…` keys only.

The training's own fields live in `params`: name, image ids (or the folder), base model, steps,
trainer, the hosted trainer's handle, and once learnt the model's parameters (`style`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.accounting.prices import TRAIN_KIND, TRAINER_MODELS
from chalicelib.store.models import JobModel

PREFIX = "trn_"
Cursor = dict[str, Any]  # a DynamoDB LastEvaluatedKey


def new_training(
    workspace_id: str,
    training_id: str,
    *,
    user_id: str,
    key_id: str | None,
    name: str,
    image_ids: list[str],
    folder_id: str | None,
    base_model: str,
    steps: int,
    trainer: str,
    correlation_id: str | None,
    created_at: datetime,
) -> JobModel:
    """A queued training's row, not yet written: admission writes it in its own transaction.
    `n` is the number of training images (what the price counts)."""
    params = {
        "name": name,
        "image_ids": image_ids,
        "folder_id": folder_id,
        "base_model": base_model,
        "steps": steps,
        "trainer": trainer,
    }
    return JobModel(
        workspace_id,
        training_id,
        user_id=user_id,
        key_id=key_id,
        status="queued",
        kind=TRAIN_KIND,
        prompt=name,
        provider="local",
        model=TRAINER_MODELS[trainer],
        n=len(image_ids),
        size="1024x1024",
        seed=0,
        params=params,
        correlation_id=correlation_id,
        created_at=created_at,
        images=[],
        usage={},
        timings={},
    )


def get_training(workspace_id: str, training_id: str) -> JobModel | None:
    """The training, read consistently, or None (a job row is never a training)."""
    if not training_id.startswith(PREFIX):
        return None
    try:
        row = JobModel.get(workspace_id, training_id, consistent_read=True)
    except JobModel.DoesNotExist:
        return None
    return row if row.kind == TRAIN_KIND else None


def newest_trainings(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[JobModel], Cursor | None]:
    """A page of the workspace's trainings, newest first (ULID keys), read consistently."""
    result = JobModel.query(
        workspace_id,
        JobModel.job_id.startswith(PREFIX),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursor,
        consistent_read=True,
    )
    return list(result), result.last_evaluated_key


def save_params(row: JobModel, changes: dict[str, Any]) -> bool:
    """Merge `changes` into the training's params while it is running (the worker's handle or
    learnt style); False when it is no longer running (canceled or ended meanwhile): nothing written."""
    params = {**(row.params or {}), **changes}
    try:
        row.update(actions=[JobModel.params.set(params)], condition=running())
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    row.params = params
    return True


def running() -> Condition:
    """The condition that the training is running (the worker's writes, a running cancel)."""
    return JobModel.status == "running"


def active() -> Condition:
    """The condition that the training has not ended (a cancel: queued or running)."""
    return JobModel.status.is_in("queued", "running")
