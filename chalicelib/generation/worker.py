"""The generation worker: SQS batch in, images in S3, the job settled exactly once.

Chalice's `@app.on_sqs_message` cannot report partial batch failures, so the worker is a plain
`@app.lambda_function()` using Powertools' BatchProcessor + `process_partial_response`
(the event source mapping has ReportBatchItemFailures): a failed record returns to the queue
alone. Records of a batch run concurrently (ConcurrentBatchProcessor), and so do a job's
n images. Powertools Idempotency keyed on the job id makes a second delivery of the same job
return the first result instead of producing a second set of images.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pynamodb.exceptions import UpdateError

from chalicelib import clock, ids
from chalicelib.accounting.prices import job_credits, model_price, provider_cost_micro_usd
from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
from chalicelib.bootstrap import on_reset
from chalicelib.generation import storage
from chalicelib.generation.providers import GeneratedImage, ImageRequest, ProviderError, get_provider
from chalicelib.generation.service import TERMINAL, size_of
from chalicelib.observability import bind, count, error_context, logger, report_exception, span, unbind
from chalicelib.settings import get_settings
from chalicelib.store import bind_models
from chalicelib.store.models import ImageModel, JobModel

MAX_ATTEMPTS_PER_IMAGE = 3


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


class ConcurrentBatchProcessor(BatchProcessor):
    """BatchProcessor that handles a batch's records concurrently (each record independent)."""

    max_workers = 10

    def failure_handler(self, record: Any, exception: Any) -> Any:
        """A failed record goes back to the queue; say why once, with the job's context."""
        exc = exception[1]
        code = "retry_later" if isinstance(exc, RetryLater) else "worker_crash" if isinstance(exc, WorkerCrash) else (
            "in_progress" if type(exc).__name__ == "IdempotencyAlreadyInProgressError" else "worker_error")
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


RETRY_BASE_S = 30
RETRY_MAX_S = 900


def retry_delay_s(receive_count: int) -> int:
    """When a failed record should come back: 30 s, 60 s, 120 s ... at most 15 minutes."""
    return min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, receive_count - 1))


def _retry_sooner(record: Any) -> None:
    """The queue's visibility timeout is 6 x the worker's timeout (30 minutes), sized for a run
    that times out. A record that failed in our hands comes back after a backoff instead."""
    try:
        from chalicelib.aws import client, queue_url

        raw = record.raw_event if hasattr(record, "raw_event") else record
        receives = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        queue = str(raw.get("eventSourceARN", "")).rsplit(":", 1)[-1]
        client("sqs").change_message_visibility(QueueUrl=queue_url(queue), ReceiptHandle=raw["receiptHandle"],
                                                VisibilityTimeout=retry_delay_s(receives))
    except Exception as exc:  # best effort: without it the message still returns, only later
        logger.warning("could not shorten the visibility of a failed record", extra={"error": str(exc)})


@dataclass
class _Outcome:
    images: list[tuple[int, GeneratedImage]]
    errors: list[ProviderError]


def _generate_all(job: JobModel, requests: list[ImageRequest]) -> _Outcome:
    provider = get_provider(job.provider)

    def one(request: ImageRequest) -> tuple[int, GeneratedImage | ProviderError]:
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

    images: list[tuple[int, GeneratedImage]] = []
    errors: list[ProviderError] = []
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        for index, result in pool.map(one, requests):
            if isinstance(result, ProviderError):
                errors.append(result)
            else:
                images.append((index, result))
    return _Outcome(sorted(images, key=lambda pair: pair[0]), errors)


def _run_tools(job: JobModel) -> _Outcome:
    """Upscale and edit operations run here with Pillow: no provider call, no provider cost."""
    from chalicelib.generation import tools

    params = job.params or {}
    started = time.perf_counter()
    source = storage.get_image(ImageModel.get(job.workspace_id, params["source_image_id"]).s3_key)
    try:
        if job.kind == "upscale":
            data, content_type, width, height = tools.upscale(source, int(params.get("scale", 2)))
        else:
            data, content_type, width, height = tools.apply_operations(source, params.get("operations") or [])
    except (ValueError, OSError) as exc:
        return _Outcome([], [ProviderError("invalid_image_operation", str(exc), retryable=False)])
    elapsed = int((time.perf_counter() - started) * 1000)
    return _Outcome([(0, GeneratedImage(data=data, content_type=content_type, width=width, height=height,
                                        provider_ms=elapsed, pixels=width * height))], [])


def _requests_for(job: JobModel) -> list[ImageRequest]:
    width, height = size_of(job)
    params = job.params or {}
    sources: dict[str, bytes | None] = {}
    for name in ("source_image_id", "mask_image_id", "style_image_id"):
        image_id = params.get(name)
        sources[name] = storage.get_image(ImageModel.get(job.workspace_id, image_id).s3_key) if image_id else None
    return [
        ImageRequest(
            prompt=job.prompt, width=width, height=height, seed=int(job.seed), index=i, model=job.model,
            kind=job.kind, source_image=sources["source_image_id"], mask_image=sources["mask_image_id"],
            style_image=sources["style_image_id"], strength=params.get("strength"), job_id=job.job_id,
            correlation_id=job.correlation_id, timeout_s=60.0,
        )
        for i in range(int(job.n))
    ]


def _store(job: JobModel, images: list[tuple[int, GeneratedImage]], now: Any) -> tuple[list[dict[str, Any]], list[Any]]:
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
    records: list[dict[str, Any]] = []
    rows: list[Any] = []
    for index, image, key in prepared:
        image_id = f"img_{job.job_id.split('_', 1)[1][:20]}{index:06d}"
        records.append({
            "id": image_id, "index": index, "s3_key": key, "width": image.width, "height": image.height,
            "content_type": image.content_type, "bytes": len(image.data), "created_at": clock.iso(now),
            "source_image_id": source,
        })
        rows.append(ImageModel(
            job.workspace_id, image_id, job_id=job.job_id, user_id=job.user_id, s3_key=key, width=image.width,
            height=image.height, content_type=image.content_type, bytes=len(image.data), source_image_id=source,
            kind=job.kind, created_at=now,
        ))
    return records, rows


def run_job(workspace_id: str, job_id: str, admission_ms: int | None = None) -> dict[str, Any]:
    """Run one admitted job to its end; safe to call again for the same job."""
    from chalicelib.accounting.running import defer_seconds, mark_deferred, start_job

    bind_models()
    started = clock.now()
    start = start_job(workspace_id, job_id, started)
    if start.outcome == "missing":
        logger.warning("job not found; dropping message")
        return {"status": "missing"}
    job = start.job
    assert job is not None
    if start.outcome == "full":
        # The workspace runs as many jobs as its plan allows: this one waits its turn, queued with
        # its hold. Raised, not returned, so Idempotency keeps no result for the job.
        mark_deferred(job, started)
        raise JobDeferred(defer_seconds(), "running_cap")
    if not start.runs:
        return {"status": job.status, "skipped": True}
    queue_wait_ms = max(0, int((started - job.created_at).total_seconds() * 1000))
    bind(job_id=job.job_id, workspace_id=job.workspace_id, user_id=job.user_id)
    error_context(job_id=job.job_id, workspace_id=job.workspace_id, provider=job.provider,
                  correlation_id=job.correlation_id)
    count("QueueWaitMs", queue_wait_ms, provider=job.provider)
    provider_started = time.perf_counter()
    with span("provider", workspace_id=job.workspace_id, job_id=job.job_id, provider=job.provider, model=job.model):
        if job.kind == "upscale" or (job.params or {}).get("operations"):
            outcome = _run_tools(job)
        else:
            outcome = _generate_all(job, _requests_for(job))
    provider_ms = int((time.perf_counter() - provider_started) * 1000)
    count("ProviderLatencyMs", provider_ms, provider=job.provider)
    timings = {"queue_wait_ms": queue_wait_ms, "provider_ms": provider_ms}
    if admission_ms is not None:
        timings["admission_ms"] = admission_ms
    if not outcome.images:
        error = outcome.errors[0]
        if error.retryable:
            raise RetryLater(f"{error.code}: {error.message}")
        now = clock.now()
        with span("settlement", job_id=job.job_id):
            release_job(job, JobFinal("failed", now, error={"code": error.code, "message": error.message},
                                      timings=timings), now, reason=error.code)
        count("JobsFailed", provider=job.provider, code=error.code)
        logger.info("job failed", extra={"error_code": error.code})
        return {"status": "failed", "error": error.code}
    storage_started = time.perf_counter()
    with span("storage", job_id=job.job_id):
        stored, image_rows = _store(job, outcome.images, clock.now())
    timings["storage_ms"] = int((time.perf_counter() - storage_started) * 1000)
    if get_settings().fault_injection and (
        ("[crash:before_settle]" in job.prompt and int(job.attempts or 0) == 1) or "[crash:always]" in job.prompt
    ):
        raise WorkerCrash("injected crash between provider call and settlement")
    price = model_price(job.provider, job.model)
    made = len(outcome.images)
    input_tokens = sum(image.input_tokens for _, image in outcome.images)
    output_tokens = sum(image.output_tokens for _, image in outcome.images)
    usage = Usage(
        images=made,
        credits=job_credits(price, job.size, job.kind, made),
        cost_micro_usd=provider_cost_micro_usd(price, made, input_tokens, output_tokens),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        provider_ms=sum(image.provider_ms for _, image in outcome.images),
    )
    now = clock.now()
    settle_started = time.perf_counter()
    with span("settlement", job_id=job.job_id):
        result = settle_job(job, usage, JobFinal("succeeded", now, images=stored, timings=timings), now,
                            image_rows=image_rows)
    if result.applied:
        # Settlement's own duration can only be known after it: one small extra write, outside
        # the settlement transaction, so the job's waterfall is complete without X-Ray.
        timings["settlement_ms"] = int((time.perf_counter() - settle_started) * 1000)
        try:
            job.update(actions=[JobModel.timings.set(timings)])
        except Exception:  # bookkeeping only
            logger.warning("could not record settlement timing")
    if result.applied:
        _after_settlement(job.workspace_id)
    total_ms = int((now - started).total_seconds() * 1000)
    count("JobDurationMs", total_ms, provider=job.provider)
    count("CreditsSpent", usage.credits, provider=job.provider)
    logger.info("job succeeded", extra={"latency_ms": total_ms, "images": made, "settled": result.applied})
    return {"status": "succeeded", "images": made, "credits": usage.credits, "settled": result.applied}


def _after_settlement(workspace_id: str) -> None:
    """Queue an auto top-up if this charge took the wallet below its threshold (never inline)."""
    from chalicelib.billing.topup import after_settlement

    try:
        after_settlement(workspace_id)
    except Exception as exc:  # the job is done and charged; a top-up check must not undo that
        report_exception(exc, "auto top-up check failed", "auto_topup_check_failed")


@lru_cache(maxsize=1)
def _idempotent_runner() -> Any:
    """Powertools Idempotency around run_job, keyed on the job id (built lazily: table name)."""
    from chalicelib.idempotency import idempotent

    decorate, config = idempotent("job_id", 7 * 86_400, data_keyword="message")

    @decorate
    def run(message: dict[str, Any]) -> dict[str, Any]:
        return run_job(message["workspace_id"], message["job_id"], message.get("admission_ms"))

    return run, config


@on_reset
def reset() -> None:
    """Forget the Idempotency runner (it holds the table name and a client)."""
    _idempotent_runner.cache_clear()


def handle_record(record: SQSRecord, context: Any = None) -> dict[str, Any]:
    """One SQS record: bind its correlation id and run the job idempotently."""
    unbind()
    attributes = record.raw_event.get("messageAttributes") or {}
    correlation_id = (attributes.get("correlation_id") or {}).get("stringValue")
    bind(correlation_id=correlation_id or record.message_id, route="worker", request_id=record.message_id)
    logger.set_correlation_id(correlation_id or record.message_id)
    body = json.loads(record.body)
    message = {"workspace_id": str(body["workspace_id"]), "job_id": str(body["job_id"])}
    if isinstance(body.get("admission_ms"), int):
        message["admission_ms"] = body["admission_ms"]
    if not ids.is_id(message["job_id"], "job"):
        raise ValueError("message has no valid job id")
    provider, images = body.get("provider"), body.get("images")
    quota_key = None
    run, config = _idempotent_runner()
    if context is not None:
        config.register_lambda_context(context)
    try:
        if isinstance(provider, str) and isinstance(images, int):
            quota_key, wait_s = provider_slot(provider, images)
            if wait_s:
                raise JobDeferred(wait_s, "provider_quota")
        return run(message=message)
    except JobDeferred as deferred:
        if deferred.reason != "provider_quota" and quota_key is not None:
            give_back_provider_slot(quota_key, int(images))  # no provider call was made after all
        return _defer(message, correlation_id, provider, images, deferred)


def _defer(message: dict[str, Any], correlation_id: str | None, provider: Any, images: Any,
           deferred: JobDeferred) -> dict[str, Any]:
    """Send the job back as a new delayed message (no receive count moves toward the DLQ); it
    stays queued with its hold instead of failing."""
    from chalicelib.accounting.running import mark_deferred
    from chalicelib.generation import queue

    if deferred.reason == "provider_quota":
        mark_deferred(JobModel(message["workspace_id"], message["job_id"]), clock.now())
    queue.enqueue_job(message["workspace_id"], message["job_id"], correlation_id, delay_s=deferred.delay_s,
                      admission_ms=message.get("admission_ms"), provider=provider if isinstance(provider, str) else None,
                      images=images if isinstance(images, int) else None)
    count("JobsDeferred", reason=deferred.reason)
    logger.info("job deferred", extra={"job_id": message["job_id"], "delay_s": deferred.delay_s,
                                       "reason": deferred.reason})
    return {"status": "deferred", "delay_s": deferred.delay_s, "reason": deferred.reason}


def provider_slot(provider: str, images: int) -> tuple[str | None, int]:
    """Take `images` calls from the provider's per-minute window: (window key, 0) if taken,
    (None, seconds to wait) if the window is full, (None, 0) for a provider without a quota."""
    import random as _random

    from chalicelib.accounting import keys
    from chalicelib.accounting.plans import PROVIDER_QUOTAS
    from chalicelib.store.models import CounterModel

    quota = PROVIDER_QUOTAS.get(provider)
    if quota is None or quota.images_per_minute is None:
        return None, 0
    now = clock.now()
    window, elapsed = divmod(int(now.timestamp()), 60)
    key = f"{keys.rate_key('pw', provider)}#{window}"
    try:
        CounterModel(key).update(
            actions=[CounterModel.n.add(images), CounterModel.expires_at.set((window + 3) * 60)],
            condition=CounterModel.n.does_not_exist() | (CounterModel.n <= quota.images_per_minute - images),
        )
    except UpdateError:
        return None, min(900, 60 - elapsed + _random.randint(1, 5))  # into the next window, spread out
    return key, 0


def give_back_provider_slot(key: str, images: int) -> None:
    """Undo `provider_slot` for a job that did not run after all (its workspace was at its cap)."""
    from chalicelib.store.models import CounterModel

    try:
        CounterModel(key).update(actions=[CounterModel.n.add(-images)], condition=CounterModel.n >= images)
    except UpdateError:
        logger.warning("could not give back a provider slot", extra={"error_code": "provider_slot_refund"})


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry for the jobs queue: partial batch response (batchItemFailures)."""
    from chalicelib.observability import get_tracer, tracing_enabled

    if tracing_enabled():
        get_tracer()  # patches boto3/botocore before the first AWS call of this container
    bind_models()
    # Report every failure as a batchItemFailure, even when all records failed: the event
    # source mapping then returns exactly those messages, same as raising would, but the
    # answer stays explicit (and the local poller treats both the same way).
    processor = ConcurrentBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=lambda record: handle_record(record, context), processor=processor, context=context
    )


def handle_dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry for the DLQ: a job that died repeatedly fails with a clear code; hold released."""
    bind_models()
    released = 0
    for raw in event.get("Records", []):
        record = SQSRecord(raw)
        body = json.loads(record.body)
        try:
            job = JobModel.get(str(body["workspace_id"]), str(body["job_id"]), consistent_read=True)
        except (JobModel.DoesNotExist, KeyError):
            continue
        if job.status in TERMINAL:
            continue
        now = clock.now()
        final = JobFinal("failed", now, error={
            "code": "dead_lettered",
            "message": "the job failed repeatedly (worker crash or timeout) and was dead-lettered",
        })
        outcome = release_job(job, final, now, reason="dead_lettered", job_condition=~JobModel.status.is_in(*TERMINAL))
        released += int(outcome.applied)
        bind(job_id=job.job_id, workspace_id=job.workspace_id)
        logger.error("job dead-lettered", extra={"error_code": "dead_lettered"})
        count("JobsDeadLettered")
    return {"released": released}
