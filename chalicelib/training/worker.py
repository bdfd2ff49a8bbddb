"""The trainings worker: runs an admitted training to its end, through the state machine
(`training.states`) whose every move is a conditional write.

Invariants (tests/functional/test_trainings*.py try to break each):
- queued → running is `accounting.running.start_job`: one transaction that takes one of the
  workspace's running slots (shared with its jobs) under the job-row condition; a redelivered or
  duplicated message finds the training running (it resumes: the local trainer is deterministic)
  or ended (it does nothing).
- Learnt parameters are written conditioned on `running`: a training canceled meanwhile keeps none.
- running → succeeded is `settle_job` (charge once: the hold's `held → settled` guard);
  → failed/canceled is `release_job` (refund once: `held → released`). A cancel racing the worker
  is decided by whichever of the two commits first; the other changes nothing.
- A crash between any two steps leaves the message to come back: the training resumes. A
  training that keeps failing fails on the queue's last receive (rules.MAX_RECEIVES), and the
  stale-hold sweeper releases any hold that outlives every delivery.
- A hosted trainer's training is polled by new delayed messages; a canceled training is canceled
  at the trainer too.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import clock
from chalicelib.accounting import running
from chalicelib.accounting.prices import TRAIN_KIND
from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
from chalicelib.bootstrap import ready
from chalicelib.library import objects
from chalicelib.observability import bind, count, logger, unbind
from chalicelib.store import images as image_store
from chalicelib.store import trainings as store
from chalicelib.store.models import JobModel
from chalicelib.training import queue, rules
from chalicelib.training.errors import TrainerError
from chalicelib.training.trainers import Progress, TrainingInput, get_trainer


def run_training(workspace_id: str, training_id: str, *, last_try: bool = False) -> str:
    """Move the training as far as it goes now; returns where it stands. Safe to call again."""
    now = clock.now()
    start = running.start_job(workspace_id, training_id, now)
    row = start.job
    if row is None or row.kind != TRAIN_KIND:
        return "missing"
    if start.outcome == "full":  # the workspace runs as much as its plan allows: wait, hold and all
        running.mark_deferred(row, now)
        queue.enqueue_training(workspace_id, training_id, row.correlation_id, running.defer_seconds())
        return "deferred"
    if not start.runs:
        _stop_at_trainer(row)
        return str(row.status)
    bind(job_id=training_id, workspace_id=workspace_id, user_id=row.user_id)
    try:
        progress = _advance(row)
    except TrainerError as error:
        if error.retryable and not last_try:
            raise  # the message comes back after its visibility timeout
        return _fail(row, error.code, error.message)
    return _conclude(row, progress)


def _advance(row: JobModel) -> Progress:
    """Start the training at its trainer, or ask a hosted trainer how it is going."""
    params = row.params or {}
    trainer = get_trainer(str(params["trainer"]))
    handle = params.get("handle")
    if handle:
        return trainer.poll(str(handle))
    progress = trainer.start(_input(row))
    if progress.handle and not store.save_params(row, {"handle": progress.handle}):
        trainer.cancel(progress.handle)  # canceled while it was being started
        return Progress("canceled", progress.handle)
    return progress


def _input(row: JobModel) -> TrainingInput:
    """The training's images that are still in the library (trashed ones are left out)."""
    params = row.params or {}
    wanted = [str(i) for i in params.get("image_ids") or []]
    found = image_store.get_images(row.workspace_id, wanted)
    live = [found[i] for i in wanted if i in found and found[i].trashed_at is None]
    if len(live) < rules.MIN_IMAGES:
        raise TrainerError(
            "not_enough_images",
            f"only {len(live)} of the training's images are left; {rules.MIN_IMAGES} are needed",
            retryable=False,
        )
    images = []
    for image in live:
        data = objects.read(str(image.s3_key), rules.MAX_IMAGE_BYTES)
        if len(data) > rules.MAX_IMAGE_BYTES:
            raise TrainerError(
                "training_image_too_large", f"image {image.image_id} is over {rules.MAX_IMAGE_BYTES} bytes", retryable=False
            )
        images.append((f"{image.image_id}.{str(image.s3_key).rsplit('.', 1)[-1]}", data))
    return TrainingInput(
        row.workspace_id, row.job_id, images, int(params.get("steps") or rules.DEFAULT_STEPS), str(params.get("base_model"))
    )


def _conclude(row: JobModel, progress: Progress) -> str:
    if progress.phase == "running":
        queue.enqueue_training(row.workspace_id, row.job_id, row.correlation_id, progress.poll_after_s)
        return "running"
    if progress.phase == "failed":
        error = progress.error or {"code": "training_failed", "message": "the trainer failed"}
        return _fail(row, error["code"], error["message"])
    if progress.phase == "canceled":
        return _end(row, "canceled", None)
    return _succeed(row, progress)


def _succeed(row: JobModel, progress: Progress) -> str:
    """Keep the learnt parameters (only while running), then charge the hold once."""
    if not store.save_params(row, progress.parameters):
        return _current(row)
    now = clock.now()
    reserved = int(row.credits_reserved)
    outcome = settle_job(row, Usage(images=0, credits=reserved), JobFinal("succeeded", now), now)
    if outcome.applied:
        count("TrainingsSucceeded")
        logger.info("training succeeded", extra={"credits": reserved})
    return "succeeded" if outcome.applied else _current(row)


def _fail(row: JobModel, code: str, message: str) -> str:
    count("TrainingsFailed", code=code)
    logger.info("training failed", extra={"error_code": code})
    return _end(row, "failed", {"code": code, "message": message})


def _end(row: JobModel, status: str, error: dict[str, str] | None) -> str:
    """Release the hold once (a cancel that got there first wins: nothing changes here)."""
    now = clock.now()
    outcome = release_job(
        row, JobFinal(status, now, error=error), now, reason=error["code"] if error else status, job_condition=store.running()
    )
    return status if outcome.applied else _current(row)


def _current(row: JobModel) -> str:
    fresh = store.get_training(row.workspace_id, row.job_id)
    return str(fresh.status) if fresh is not None else "missing"


def _stop_at_trainer(row: JobModel) -> None:
    """A canceled hosted training is canceled at its trainer too (best effort: it is ours to stop)."""
    handle = (row.params or {}).get("handle")
    if row.status != "canceled" or not handle:
        return
    try:
        get_trainer(str((row.params or {})["trainer"])).cancel(str(handle))
    except TrainerError as error:
        logger.warning("could not cancel at the trainer", extra={"error_code": error.code, "job_id": row.job_id})


# --- the consumer -------------------------------------------------------------------------------


def _record(record: Any) -> str:
    """One trainings-queue record; a malformed one is logged and dropped (retrying cannot fix it)."""
    unbind()
    try:
        body = json.loads(record.body)
        workspace_id, training_id = str(body["workspace_id"]), str(body["training_id"])
    except (ValueError, KeyError, TypeError):
        logger.warning("trainings message ignored", extra={"error_code": "bad_training_message"})
        return "ignored"
    attributes = record.raw_event.get("messageAttributes") or {}
    bind(
        correlation_id=(attributes.get("correlation_id") or {}).get("stringValue") or record.message_id, route="trainings_worker"
    )
    receives = int((record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
    return run_training(workspace_id, training_id, last_try=receives >= rules.MAX_RECEIVES)


def handle_trainings_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The trainings queue's Lambda (partial batch failures: one failed training fails alone)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    ready()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
