"""The generation worker: SQS batch in, images in S3, the job settled exactly once.

Chalice's `@app.on_sqs_message` cannot report partial batch failures, so the worker is a plain
`@app.lambda_function()` using Powertools' BatchProcessor + `process_partial_response`
(the event source mapping has ReportBatchItemFailures): a failed record returns to the queue
alone. Records of a batch run concurrently (ConcurrentBatchProcessor), and so do a job's
n images. Powertools Idempotency keyed on the job id makes a second delivery of the same job
return the first result instead of producing a second set of images.

A job that must wait (its workspace's running cap, the provider's per-minute quota) is not
failed: `JobDeferred` is raised inside the idempotent run (so no result is kept for the job)
and the record's handler sends the same message back, delayed.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import bootstrap, clock
from chalicelib.accounting import provider_quota, running
from chalicelib.accounting.prices import DEFAULT_MODEL, TRAINED_PREFIX, job_credits, model_price, provider_cost_micro_usd
from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
from chalicelib.aws import client, queue_url
from chalicelib.generation import kinds, queue, storage, tools
from chalicelib.generation.messages import JobMessage, MalformedMessage
from chalicelib.generation.providers import GeneratedImage, ImageRequest, Provider, ProviderError, get_provider
from chalicelib.idempotency import idempotent
from chalicelib.library.changes import index_rows
from chalicelib.observability import (
    bind,
    count,
    error_context,
    get_tracer,
    logger,
    report_exception,
    span,
    tracing_enabled,
    unbind,
)
from chalicelib.settings import get_settings
from chalicelib.store import images as image_store
from chalicelib.store import jobs as job_store
from chalicelib.store import library_index
from chalicelib.store.models import ImageModel, JobModel

MAX_ATTEMPTS_PER_IMAGE = 3
RETRY_BASE_S = 30
RETRY_MAX_S = 900


class WorkerCrash(RuntimeError):
    """Injected crash between the provider call and settlement (tests of redelivery)."""


class RetryLater(RuntimeError):
    """A retryable failure outlasted this invocation's retries: the message comes back."""


class JobDeferred(RuntimeError):
    """The job must wait (its workspace's running cap, the provider's quota): it goes back to the
    queue as a new delayed message and stays queued with its hold."""

    def __init__(self, delay_s: int, reason: str) -> None:
        super().__init__(f"deferred {delay_s}s: {reason}")
        self.delay_s = delay_s
        self.reason = reason


def _failure_code(exc: BaseException) -> str:
    """Why a record failed, as the log and the metric name it."""
    if isinstance(exc, RetryLater):
        return "retry_later"
    if isinstance(exc, WorkerCrash):
        return "worker_crash"
    if isinstance(exc, MalformedMessage):
        return "malformed_message"
    if type(exc).__name__ == "IdempotencyAlreadyInProgressError":
        return "in_progress"
    return "worker_error"


class ConcurrentBatchProcessor(BatchProcessor):
    """BatchProcessor that handles a batch's records concurrently (each record independent)."""

    max_workers = 10

    def failure_handler(self, record: Any, exception: Any) -> Any:
        """A failed record goes back to the queue; say why once, with the job's context."""
        exc = exception[1]
        code = _failure_code(exc)
        if code == "in_progress":
            logger.info("duplicate delivery while the job runs elsewhere; it will come back", extra={"error_code": code})
        else:
            report_exception(exc, "job message failed; it returns to the queue", code)
        count("WorkerRecordFailures", code=code)
        if code != "worker_crash":  # a real crash runs no code: the queue's own visibility applies
            _retry_sooner(record)
        return super().failure_handler(record, exception)

    def _process_messages(self) -> list:  # pragma: no cover - name used by newer Powertools
        return self.process()

    def process(self) -> list:
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            return list(pool.map(self._process_record, self.records))


def retry_delay_s(receive_count: int) -> int:
    """When a failed record should come back: 30 s, 60 s, 120 s ... at most 15 minutes."""
    return min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, receive_count - 1))


def _retry_sooner(record: Any) -> None:
    """The queue's visibility timeout is 6 x the worker's timeout (30 minutes), sized for a run
    that times out. A record that failed in our hands comes back after a backoff instead."""
    try:
        raw = record.raw_event if hasattr(record, "raw_event") else record
        receives = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        name = str(raw.get("eventSourceARN", "")).rsplit(":", 1)[-1]
        client("sqs").change_message_visibility(
            QueueUrl=queue_url(name), ReceiptHandle=raw["receiptHandle"], VisibilityTimeout=retry_delay_s(receives)
        )
    except Exception as exc:  # best effort: without it the message still returns, only later
        logger.warning("could not shorten the visibility of a failed record", extra={"error": str(exc)})


# --- making the images ------------------------------------------------------------------------


@dataclass
class _Outcome:
    images: list[tuple[int, GeneratedImage]]
    errors: list[ProviderError]


def _one_image(provider: Provider, job: JobModel, request: ImageRequest) -> tuple[int, GeneratedImage | ProviderError]:
    """One image, retrying retryable provider errors with jittered backoff (or the provider's
    Retry-After); the last error is the result when the attempts run out."""
    delay = 0.2
    for attempt in range(1, MAX_ATTEMPTS_PER_IMAGE + 1):
        try:
            return request.index, provider.generate(request)
        except ProviderError as exc:
            count("ProviderErrors", provider=job.provider, code=exc.code)
            if not exc.retryable or attempt == MAX_ATTEMPTS_PER_IMAGE:
                return request.index, exc
            wait = exc.retry_after_s if exc.retry_after_s is not None else delay * (0.5 + random.random())
            logger.warning("provider call failed; retrying", extra={"error_code": exc.code, "attempt": attempt})
            time.sleep(min(wait, 10.0))
            delay *= 2
    raise AssertionError("unreachable")


def _provider_for(job: JobModel) -> Provider:
    """The job's provider; for a trained model (`trn_…`) on a hosted provider, that provider
    drawing with its base model and the trained style applied to its pictures (the local
    provider applies the style itself)."""
    provider = get_provider(job.provider)
    if job.model.startswith(TRAINED_PREFIX) and job.provider != "local":
        from chalicelib.training.styled import StyledProvider

        return StyledProvider(provider, DEFAULT_MODEL[job.provider])
    return provider


def _generate_all(job: JobModel, requests: list[ImageRequest]) -> _Outcome:
    """The job's n images, concurrently, at its provider."""
    provider = _provider_for(job)
    images: list[tuple[int, GeneratedImage]] = []
    errors: list[ProviderError] = []
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        for index, result in pool.map(lambda request: _one_image(provider, job, request), requests):
            if isinstance(result, ProviderError):
                errors.append(result)
            else:
                images.append((index, result))
    return _Outcome(sorted(images, key=lambda pair: pair[0]), errors)


def _input_bytes(workspace_id: str, image_id: str) -> bytes:
    """An input image's bytes (admission checked that it exists; a vanished one fails the record)."""
    image = image_store.get_image(workspace_id, image_id)
    if image is None:
        raise LookupError(f"input image {image_id} of the job is gone")
    return storage.get_image(image.s3_key)


def _run_tools(job: JobModel) -> _Outcome:
    """Upscale and edit operations run here with Pillow: no provider call, no provider cost."""
    params = job.params or {}
    started = time.perf_counter()
    source = _input_bytes(job.workspace_id, params["source_image_id"])
    try:
        if job.kind == "upscale":
            data, content_type, width, height = tools.upscale(source, int(params.get("scale", 2)))
        else:
            data, content_type, width, height = tools.apply_operations(source, params.get("operations") or [])
    except (ValueError, OSError) as exc:
        return _Outcome([], [ProviderError("invalid_image_operation", str(exc), retryable=False)])
    elapsed = int((time.perf_counter() - started) * 1000)
    return _Outcome(
        [
            (
                0,
                GeneratedImage(
                    data=data, content_type=content_type, width=width, height=height, provider_ms=elapsed, pixels=width * height
                ),
            )
        ],
        [],
    )


def _requests_for(job: JobModel) -> list[ImageRequest]:
    width, height = kinds.output_size(job.size, job.params)
    params = job.params or {}
    inputs = {name: _input_bytes(job.workspace_id, params[name]) if params.get(name) else None for name in kinds.IMAGE_INPUTS}
    return [
        ImageRequest(
            prompt=job.prompt,
            width=width,
            height=height,
            seed=int(job.seed),
            index=i,
            model=job.model,
            kind=job.kind,
            source_image=inputs["source_image_id"],
            mask_image=inputs["mask_image_id"],
            style_image=inputs["style_image_id"],
            strength=params.get("strength"),
            job_id=job.job_id,
            correlation_id=job.correlation_id,
            timeout_s=60.0,
            options={"workspace_id": job.workspace_id},  # whose trained model (`trn_…`) it may apply
        )
        for i in range(int(job.n))
    ]


def _image_record(
    job: JobModel, index: int, image: GeneratedImage, key: str, source: str | None, now: datetime
) -> dict[str, Any]:
    """The job's record of one image; its id is fixed by the job and index (a redelivery makes the same)."""
    return {
        "id": f"img_{job.job_id.split('_', 1)[1][:20]}{index:06d}",
        "index": index,
        "s3_key": key,
        "width": image.width,
        "height": image.height,
        "content_type": image.content_type,
        "bytes": len(image.data),
        "created_at": clock.iso(now),
        "source_image_id": source,
    }


def _image_row(job: JobModel, record: dict[str, Any], now: datetime) -> ImageModel:
    """The library's row of one image (store/images.py), from its record."""
    return image_store.new_image(
        job.workspace_id,
        record["id"],
        job_id=job.job_id,
        user_id=job.user_id,
        s3_key=record["s3_key"],
        width=record["width"],
        height=record["height"],
        content_type=record["content_type"],
        size_bytes=record["bytes"],
        source_image_id=record["source_image_id"],
        kind=job.kind,
        created_at=now,
        prompt=job.prompt,
        provider=job.provider,
        model=job.model,
    )


def store_images(
    job: JobModel, images: list[tuple[int, GeneratedImage]], now: datetime
) -> tuple[list[dict[str, Any]], list[ImageModel]]:
    """Upload the images (concurrently) under deterministic keys: a redelivery overwrites the
    same objects. Returns the job's image records and the image rows, which settlement writes
    in its own transaction (images and charge appear together or not at all)."""
    source = (job.params or {}).get("source_image_id")
    prepared = []
    for index, image in images:
        ext = {"image/jpeg": "jpg", "image/webp": "webp"}.get(image.content_type, "png")
        prepared.append((index, image, storage.image_key(job.workspace_id, job.job_id, index, ext)))
    with ThreadPoolExecutor(max_workers=max(1, len(prepared))) as pool:
        list(pool.map(lambda item: storage.put_image(item[2], item[1].data, item[1].content_type), prepared))
    records = [_image_record(job, index, image, key, source, now) for index, image, key in prepared]
    rows = [_image_row(job, record, now) for record in records]
    library_index.put_facets(job.workspace_id, index_rows(rows))  # before the rows: never listed unindexed
    return records, rows


# --- one job, start to end --------------------------------------------------------------------


def run_job(workspace_id: str, job_id: str, admission_ms: int | None = None) -> dict[str, Any]:
    """Run one admitted job to its end; safe to call again for the same job."""
    bootstrap.ready()
    started = clock.now()
    start = running.start_job(workspace_id, job_id, started)
    if not start.runs:
        return _not_run(start, started)
    job = start.job
    assert job is not None
    timings = _begin(job, started)
    outcome = _produce(job, timings)
    if admission_ms is not None:
        timings["admission_ms"] = admission_ms
    if not outcome.images:
        return _fail(job, outcome.errors[0], timings)
    return _succeed(job, outcome, timings, started)


def _not_run(start: running.Start, now: datetime) -> dict[str, Any]:
    """A job this delivery does not run: gone, already ended or claimed, or waiting for a slot."""
    if start.outcome == "missing":
        logger.warning("job not found; dropping message")
        return {"status": "missing"}
    job = start.job
    assert job is not None
    if start.outcome == "full":
        # The workspace runs as many jobs as its plan allows: this one waits its turn, queued with
        # its hold. Raised, not returned, so Idempotency keeps no result for the job.
        running.mark_deferred(job, now)
        raise JobDeferred(running.defer_seconds(), "running_cap")
    return {"status": job.status, "skipped": True}


def _begin(job: JobModel, started: datetime) -> dict[str, int]:
    """Bind the job's context to logs and error reports; the timings start with the queue wait."""
    queue_wait_ms = max(0, int((started - job.created_at).total_seconds() * 1000))
    bind(job_id=job.job_id, workspace_id=job.workspace_id, user_id=job.user_id)
    error_context(job_id=job.job_id, workspace_id=job.workspace_id, provider=job.provider, correlation_id=job.correlation_id)
    count("QueueWaitMs", queue_wait_ms, provider=job.provider)
    return {"queue_wait_ms": queue_wait_ms}


def _produce(job: JobModel, timings: dict[str, int]) -> _Outcome:
    """The images, from our tools or the provider; `provider_ms` joins the timings."""
    provider_started = time.perf_counter()
    with span("provider", workspace_id=job.workspace_id, job_id=job.job_id, provider=job.provider, model=job.model):
        if kinds.runs_on_tools(job.kind, (job.params or {}).get("operations")):
            outcome = _run_tools(job)
        else:
            outcome = _generate_all(job, _requests_for(job))
    timings["provider_ms"] = int((time.perf_counter() - provider_started) * 1000)
    count("ProviderLatencyMs", timings["provider_ms"], provider=job.provider)
    return outcome


def _fail(job: JobModel, error: ProviderError, timings: dict[str, int]) -> dict[str, Any]:
    """No image was made: retry later if the error may pass, else fail the job and release its hold."""
    if error.retryable:
        raise RetryLater(f"{error.code}: {error.message}")
    now = clock.now()
    with span("settlement", job_id=job.job_id):
        release_job(
            job,
            JobFinal("failed", now, error={"code": error.code, "message": error.message}, timings=timings),
            now,
            reason=error.code,
        )
    count("JobsFailed", provider=job.provider, code=error.code)
    logger.info("job failed", extra={"error_code": error.code})
    return {"status": "failed", "error": error.code}


def _succeed(job: JobModel, outcome: _Outcome, timings: dict[str, int], started: datetime) -> dict[str, Any]:
    """Store the images, then settle: charge, image rows and the job's end in one transaction."""
    storage_started = time.perf_counter()
    with span("storage", job_id=job.job_id):
        stored, image_rows = store_images(job, outcome.images, clock.now())
    timings["storage_ms"] = int((time.perf_counter() - storage_started) * 1000)
    _maybe_crash(job)
    usage = _usage_of(job, outcome)
    now = clock.now()
    applied = _settle(job, usage, JobFinal("succeeded", now, images=stored, timings=timings), image_rows)
    total_ms = int((now - started).total_seconds() * 1000)
    count("JobDurationMs", total_ms, provider=job.provider)
    count("CreditsSpent", usage.credits, provider=job.provider)
    logger.info("job succeeded", extra={"latency_ms": total_ms, "images": usage.images, "settled": applied})
    return {"status": "succeeded", "images": usage.images, "credits": usage.credits, "settled": applied}


def _maybe_crash(job: JobModel) -> None:
    """Fault injection (tests, local stack): die between the provider call and settlement."""
    if get_settings().fault_injection and (
        ("[crash:before_settle]" in job.prompt and int(job.attempts or 0) == 1) or "[crash:always]" in job.prompt
    ):
        raise WorkerCrash("injected crash between provider call and settlement")


def _usage_of(job: JobModel, outcome: _Outcome) -> Usage:
    """What the made images cost: credits by the price list, the provider's cost, tokens, time."""
    price = model_price(job.provider, job.model)
    made = len(outcome.images)
    input_tokens = sum(image.input_tokens for _, image in outcome.images)
    output_tokens = sum(image.output_tokens for _, image in outcome.images)
    return Usage(
        images=made,
        credits=job_credits(price, job.size, job.kind, made),
        cost_micro_usd=provider_cost_micro_usd(price, made, input_tokens, output_tokens),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        provider_ms=sum(image.provider_ms for _, image in outcome.images),
    )


def library_counters(job: JobModel, image_rows: list[ImageModel]) -> list[tuple[Any, list[Any]]]:
    """The library's usage counters for the job's images, written by settlement with the rows."""
    for row in image_rows:
        row.counted = True
    size = sum(int(row.bytes) for row in image_rows)
    return library_index.image_counter_updates(job.workspace_id, len(image_rows), size) if image_rows else []


def _settle(job: JobModel, usage: Usage, final: JobFinal, image_rows: list[ImageModel]) -> bool:
    """Settle once (a redelivery finds it done: not applied); after it, its own duration."""
    timings = final.timings if final.timings is not None else {}
    settle_started = time.perf_counter()
    with span("settlement", job_id=job.job_id):
        result = settle_job(
            job, usage, final, final.finished_at, image_rows=image_rows, counters=library_counters(job, image_rows)
        )
    if not result.applied:
        return False
    # Settlement's own duration can only be known after it: one small extra write, outside
    # the settlement transaction, so the job's waterfall is complete without X-Ray.
    timings["settlement_ms"] = int((time.perf_counter() - settle_started) * 1000)
    try:
        job_store.save_timings(job, timings)
    except Exception:  # bookkeeping only
        logger.warning("could not record settlement timing")
    # Whether an auto top-up is due is checked by the webhooks worker after the job's
    # job.succeeded event (webhooks/delivery.py), beside balance.low: not on this path.
    return True


# --- records, deferrals, batches ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _idempotent_runner() -> Any:
    """Powertools Idempotency around run_job, keyed on the job id (built lazily: table name)."""
    decorate, config = idempotent("job_id", 7 * 86_400, data_keyword="message")

    @decorate
    def run(message: dict[str, Any]) -> dict[str, Any]:
        return run_job(message["workspace_id"], message["job_id"], message.get("admission_ms"))

    return run, config


@bootstrap.on_reset
def reset() -> None:
    """Forget the Idempotency runner (it holds the table name and a client)."""
    _idempotent_runner.cache_clear()


def _message_of(record: SQSRecord) -> JobMessage:
    """Bind the record's correlation id to the logs, then read its message (MalformedMessage
    fails the record, with the reason in the log)."""
    unbind()
    attributes = record.raw_event.get("messageAttributes") or {}
    correlation_id = (attributes.get("correlation_id") or {}).get("stringValue")
    bind(correlation_id=correlation_id or record.message_id, route="worker", request_id=record.message_id)
    logger.set_correlation_id(correlation_id or record.message_id)
    return JobMessage.parse(record.body, attributes)


def handle_record(record: SQSRecord, context: Any = None) -> dict[str, Any]:
    """One SQS record: take the provider's quota, then run the job idempotently."""
    message = _message_of(record)
    run, config = _idempotent_runner()
    if context is not None:
        config.register_lambda_context(context)
    slot = provider_quota.Slot(None, 0)
    try:
        if message.provider is not None and message.images is not None:
            slot = provider_quota.take(message.provider, message.images, clock.now(), spread=message.job_id)
            if slot.wait_s:
                raise JobDeferred(slot.wait_s, "provider_quota")
        return run(message=message.run_payload())
    except JobDeferred as deferred:
        if slot.key is not None and message.images is not None:
            provider_quota.give_back(slot.key, message.images)  # no provider call was made after all
        return _defer(message, deferred)


def _defer(message: JobMessage, deferred: JobDeferred) -> dict[str, Any]:
    """Send the job back as a new delayed message (no receive count moves toward the DLQ); it
    stays queued with its hold instead of failing."""
    if deferred.reason == "provider_quota":
        running.mark_deferred(job_store.job_ref(message.workspace_id, message.job_id), clock.now())
    queue.enqueue_job(message, delay_s=deferred.delay_s)
    count("JobsDeferred", reason=deferred.reason)
    logger.info("job deferred", extra={"job_id": message.job_id, "delay_s": deferred.delay_s, "reason": deferred.reason})
    return {"status": "deferred", "delay_s": deferred.delay_s, "reason": deferred.reason}


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry for the jobs queue: partial batch response (batchItemFailures)."""
    if tracing_enabled():
        get_tracer()  # patches boto3/botocore before the first AWS call of this container
    bootstrap.ready()
    # Report every failure as a batchItemFailure, even when all records failed: the event
    # source mapping then returns exactly those messages, same as raising would, but the
    # answer stays explicit (and the local poller treats both the same way).
    processor = ConcurrentBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=lambda record: handle_record(record, context), processor=processor, context=context
        )
    )


def handle_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry for the DLQ: a job that died repeatedly fails with a clear code; hold released."""
    bootstrap.ready()
    released = sum(_dead_letter(SQSRecord(raw)) for raw in event.get("Records", []))
    return {"released": released}


def _dead_letter(record: SQSRecord) -> bool:
    """Fail the record's job unless it has ended; True when this released its hold."""
    try:
        message = JobMessage.parse(record.body)
    except MalformedMessage as exc:
        logger.warning(
            "malformed message on the dead-letter queue; dropped", extra={"error_code": "malformed_message", "error": str(exc)}
        )
        return False
    job = job_store.get_job(message.workspace_id, message.job_id)
    if job is None or job.status in job_store.TERMINAL:
        return False
    now = clock.now()
    final = JobFinal(
        "failed",
        now,
        error={
            "code": "dead_lettered",
            "message": "the job failed repeatedly (worker crash or timeout) and was dead-lettered",
        },
    )
    outcome = release_job(job, final, now, reason="dead_lettered", job_condition=job_store.unfinished())
    bind(job_id=job.job_id, workspace_id=job.workspace_id)
    logger.error("job dead-lettered", extra={"error_code": "dead_lettered"})
    count("JobsDeadLettered")
    return outcome.applied
