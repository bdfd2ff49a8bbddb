"""Job use cases: create (admission + queue), list, get, cancel, and the public job shape."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from chalicelib import clock, ids
from chalicelib.accounting.admission import Admission, AdmissionRequest, RateStatus, admit_job
from chalicelib.accounting.errors import (
    AmbiguousWrite,
    Contention,
    Denied,
    DuplicateAdmission,
    RateLimitDenied,
    UnknownPrice,
)
from chalicelib.accounting.plans import effective_limits
from chalicelib.accounting.prices import DEFAULT_MODEL, SIZES, model_price, size_class
from chalicelib.accounting.settlement import JobFinal, release_job
from chalicelib.api.errors import (
    AccountBanned,
    ApiError,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServiceUnavailable,
)
from chalicelib.generation import queue, storage
from chalicelib.generation.tools import upscaled_size
from chalicelib.settings import get_settings
from chalicelib.store.models import ImageModel, JobModel

if TYPE_CHECKING:
    from chalicelib.api.http import Principal
    from chalicelib.api.schemas import JobCreate

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
NEEDS_SOURCE = frozenset({"vary", "upscale", "edit", "style_transfer"})


def rate_headers(rate: RateStatus | None) -> dict[str, str]:
    if rate is None:
        return {}
    return {"RateLimit-Limit": str(rate.limit), "RateLimit-Remaining": str(rate.remaining),
            "RateLimit-Reset": str(rate.reset)}


def _request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _map_denial(denied: Denied) -> ApiError:
    if isinstance(denied, RateLimitDenied):
        headers = {"RateLimit-Limit": str(denied.limit), "RateLimit-Remaining": "0",
                   "RateLimit-Reset": str(denied.reset)}
        return RateLimited(denied.message, scope=denied.scope, retry_after=denied.retry_after, headers=headers)
    mapping: dict[str, type[ApiError]] = {
        "insufficient_credits": InsufficientCredits,
        "quota_exceeded": QuotaExceeded,
        "banned": AccountBanned,
        "provider_not_allowed": Forbidden,
    }
    cls = mapping.get(denied.reason)
    if cls is None:
        return ServiceUnavailable(denied.message)
    error = cls(denied.message, **{k: v for k, v in denied.details.items() if k != "scope"})
    error.headers.update(rate_headers(denied.rate))  # type: ignore[arg-type]
    return error


def create_job(principal: Principal, body: JobCreate, raw: dict[str, Any], idempotency_key: str | None,
               correlation_id: str | None) -> tuple[JobModel, RateStatus | None, bool]:
    """Admit and queue a job; returns (job, rate status, replayed)."""
    user, workspace = principal.user, principal.workspace
    prefs = user.settings or {}
    provider = body.provider or prefs.get("default_provider") or get_settings().default_provider
    size = body.size or prefs.get("default_size") or "1024x1024"
    n = body.n or prefs.get("default_n") or 1
    model = body.model or DEFAULT_MODEL.get(provider, "")
    try:
        model_price(provider, model)
    except UnknownPrice:
        raise InvalidRequest(f"unknown model {model!r} for provider {provider!r}", field="model") from None
    params: dict[str, Any] = {}
    if body.kind in NEEDS_SOURCE and not body.source_image_id:
        raise InvalidRequest(f"kind {body.kind!r} needs source_image_id", field="source_image_id")
    if body.kind == "style_transfer" and not body.style_image_id:
        raise InvalidRequest("kind 'style_transfer' needs style_image_id", field="style_image_id")
    if body.operations and body.kind != "edit":
        raise InvalidRequest("operations are for kind 'edit'", field="operations")
    images: dict[str, ImageModel] = {}
    for name in ("source_image_id", "mask_image_id", "style_image_id"):
        image_id = getattr(body, name)
        if image_id:
            images[name] = _require_image(workspace.workspace_id, image_id, name)
            params[name] = image_id
    for name in ("strength", "scale", "template_id", "variables"):
        value = getattr(body, name)
        if value is not None:
            params[name] = value
    if body.kind == "upscale" or body.operations:
        # Our own tools (Pillow), not a provider: one output image, priced by its size.
        if body.n not in (None, 1):
            raise InvalidRequest(f"{'upscale' if body.kind == 'upscale' else 'operations'} make one image; n must be 1",
                                 field="n")
        source = images["source_image_id"]
        provider, model, n = "local", DEFAULT_MODEL["local"], 1
        if body.kind == "upscale":
            params["scale"] = body.scale or 2
            width, height = upscaled_size(int(source.width), int(source.height), params["scale"])
        else:
            params["operations"] = [op.model_dump() for op in body.operations or []]
            width, height = int(source.width), int(source.height)
        params["width"], params["height"] = width, height
        size = size_class(width, height)
    now = clock.now()
    job_id = ids.new_id("job", now)
    seed = body.seed if body.seed is not None else int(hashlib.sha256(job_id.encode()).hexdigest()[:7], 16)
    job = JobModel(
        workspace.workspace_id,
        job_id,
        user_id=user.user_id,
        key_id=principal.key.key_id if principal.key else None,
        status="queued",
        kind=body.kind,
        prompt=body.prompt,
        provider=provider,
        model=model,
        n=n,
        size=size,
        seed=seed,
        params=params,
        correlation_id=correlation_id,
        created_at=now,
        images=[],
        usage={},
        timings={},
    )
    from chalicelib.billing.events import effective_plan

    limits = effective_limits(effective_plan(workspace, now), workspace.limits)
    request_hash = _request_hash(raw)
    key = f"idem:{idempotency_key}" if idempotency_key else job_id
    admission_started = time.perf_counter()
    try:
        admission: Admission = admit_job(AdmissionRequest(job, workspace.plan, limits, key, request_hash, now))
    except DuplicateAdmission as dup:
        if dup.request_hash != request_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different body") from None
        existing = get_job(workspace.workspace_id, dup.job_id)
        if existing.status == "queued":
            queue.enqueue_job(existing.workspace_id, existing.job_id, existing.correlation_id,
                              provider=existing.provider, images=int(existing.n))
        return existing, None, True
    except (AmbiguousWrite, Contention):
        raise ServiceUnavailable("the job could not be admitted right now; retry with the same Idempotency-Key",
                                 headers={"Retry-After": "1"}, retry_after=1) from None
    except Denied as denied:
        error = _map_denial(denied)
        from chalicelib.accounting.denials import record_denial

        record_denial(workspace.workspace_id, error.code, now, user_id=user.user_id, key_id=job.key_id,
                      scope=getattr(denied, "scope", None), provider=provider, message=denied.message,
                      request_id=correlation_id)
        raise error from None
    admission_ms = int((time.perf_counter() - admission_started) * 1000)
    queue.enqueue_job(job.workspace_id, job.job_id, correlation_id, admission_ms=admission_ms,
                      provider=job.provider, images=int(job.n))
    job.timings = {"admission_ms": admission_ms}
    return job, admission.rate, False


def _require_image(workspace_id: str, image_id: str, field: str) -> ImageModel:
    if not ids.is_id(image_id, "img"):
        raise InvalidRequest(f"{field} is not an image id", field=field)
    try:
        return ImageModel.get(workspace_id, image_id)
    except ImageModel.DoesNotExist:
        raise NotFound(f"image {image_id} not found") from None


def get_job(workspace_id: str, job_id: str) -> JobModel:
    """A job of this workspace; another tenant's job is simply not found."""
    if not ids.is_id(job_id, "job"):
        raise NotFound(f"job {job_id} not found")
    try:
        return JobModel.get(workspace_id, job_id, consistent_read=True)
    except JobModel.DoesNotExist:
        raise NotFound(f"job {job_id} not found") from None


def list_jobs(workspace_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[JobModel], dict[str, Any] | None]:
    """Newest first (ULID keys sort by time), strongly consistent: a new job shows at once."""
    result = JobModel.query(workspace_id, scan_index_forward=False, limit=limit,
                            last_evaluated_key=cursor, consistent_read=True)
    jobs = list(result)
    return jobs, result.last_evaluated_key


def cancel_job(workspace_id: str, job_id: str) -> JobModel:
    """Cancel a queued job: its hold is released and the worker will skip it."""
    job = get_job(workspace_id, job_id)
    if job.status != "queued":
        raise Conflict(f"only queued jobs can be canceled; this one is {job.status}", status_now=job.status)
    now = clock.now()
    final = JobFinal(status="canceled", finished_at=now)
    outcome = release_job(job, final, now, reason="canceled", job_condition=JobModel.status == "queued")
    job = get_job(workspace_id, job_id)
    if not outcome.applied and job.status != "canceled":
        raise Conflict(f"only queued jobs can be canceled; this one is {job.status}", status_now=job.status)
    return job


def _usage_view(job: JobModel) -> dict[str, int]:
    usage = dict(job.usage or {})
    return {
        "credits_reserved": int(usage.get("credits_reserved", job.credits_reserved or 0)),
        "credits_charged": int(usage.get("credits_charged", 0)),
        "cost_micro_usd": int(usage.get("cost_micro_usd", 0)),
        "input_tokens": int(usage.get("input_tokens", 0)),
        "output_tokens": int(usage.get("output_tokens", 0)),
        "provider_ms": int(usage.get("provider_ms", 0)),
    }


def image_view(image: dict[str, Any], job_id: str) -> dict[str, Any]:
    return {
        "id": image["id"],
        "job_id": job_id,
        "url": storage.presigned_url(image["s3_key"]),
        "width": image["width"],
        "height": image["height"],
        "content_type": image["content_type"],
        "bytes": image["bytes"],
        "created_at": image["created_at"],
        "source_image_id": image.get("source_image_id"),
    }


def job_view(job: JobModel) -> dict[str, Any]:
    """The public `Job` of API.md."""
    return {
        "id": job.job_id,
        "status": job.status,
        "kind": job.kind,
        "prompt": job.prompt,
        "provider": job.provider,
        "model": job.model,
        "n": int(job.n),
        "size": job.size,
        "created_at": clock.iso(job.created_at),
        "started_at": clock.iso(job.started_at),
        "finished_at": clock.iso(job.finished_at),
        "error": job.error,
        "images": [image_view(image, job.job_id) for image in (job.images or [])],
        "usage": _usage_view(job),
        "params": job.params or {},
        "timings": job.timings or {},
        "correlation_id": job.correlation_id,
    }


def size_of(job: JobModel) -> tuple[int, int]:
    params = job.params or {}
    if params.get("width") and params.get("height"):
        return int(params["width"]), int(params["height"])
    return SIZES[job.size]
