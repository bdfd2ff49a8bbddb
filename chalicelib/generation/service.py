"""Job use cases: create (admission + queue), list, get, cancel.

They take typed inputs and raise the domain errors of `generation.errors`; the API parses the
request before and renders the result after (`api/jobs.py`). A job handed out is a `JobRecord`:
the row and a presigned URL per image, made here so that the response model only copies.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError
from pynamodb.exceptions import PynamoDBException

from chalicelib import clock, ids
from chalicelib.accounting.admission import AdmissionRequest, RateStatus, SpendCaps, admit_job
from chalicelib.accounting.denials import record_denial
from chalicelib.accounting.errors import AmbiguousWrite, Contention, Denied, DuplicateAdmission, UnknownPrice
from chalicelib.accounting.plans import effective_limits, effective_plan
from chalicelib.accounting.prices import DEFAULT_MODEL, TRAINED_PREFIX, is_trainer_model, model_price, size_class
from chalicelib.accounting.settlement import JobFinal, release_job
from chalicelib.domain import DomainError, RepeatedKey
from chalicelib.generation import kinds, queue, storage
from chalicelib.generation.errors import (
    AdmissionUnavailable,
    ImageNotFound,
    InvalidJob,
    JobNotFound,
    NotCancelable,
    refusal,
)
from chalicelib.generation.messages import JobMessage
from chalicelib.generation.tools import upscaled_size
from chalicelib.observability import logger
from chalicelib.settings import get_settings
from chalicelib.store import billing_settings
from chalicelib.store import images as image_store
from chalicelib.store import jobs as job_store
from chalicelib.store.jobs import Cursor
from chalicelib.templates import service as templates
from chalicelib.training import service as trained_models

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.store.models import ImageModel, JobModel, WorkspaceModel


@dataclass(frozen=True)
class JobSpec:
    """The validated body of POST /v1/jobs (API.md `JobCreate`), as the use case reads it."""

    prompt: str | None = None  # None when the prompt comes from `template_id`
    kind: str = "generate"
    provider: str | None = None
    model: str | None = None
    n: int | None = None
    size: str | None = None
    seed: int | None = None
    source_image_id: str | None = None
    mask_image_id: str | None = None
    style_image_id: str | None = None
    strength: str | None = None
    scale: int | None = None
    template_id: str | None = None
    variables: dict[str, Any] | None = None
    operations: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class JobOrder:
    """Who asks for which job, and how a retry of the same request is recognised.

    `request_hash` fingerprints the validated body: a repeated Idempotency-Key with another
    body is refused (RepeatedKey) instead of replaying a job that was not asked for.
    """

    spec: JobSpec
    workspace: WorkspaceModel  # as the caller's authentication read it: plan, limits, billing state
    user_id: str
    user_settings: dict[str, Any]  # the user's defaults: default_provider, default_size, default_n
    key_id: str | None
    request_hash: str
    idempotency_key: str | None = None
    correlation_id: str | None = None
    caps: SpendCaps | None = None  # the calling key's and member's spend caps (teams)


@dataclass(frozen=True)
class JobRecord:
    """A job as the use cases hand it out: the row, and one presigned URL per image (same order)."""

    job: JobModel
    image_urls: tuple[str, ...]


@dataclass(frozen=True)
class CreatedJob:
    """The admitted (or replayed) job and the tightest rate window after it (None on a replay)."""

    record: JobRecord
    rate: RateStatus | None
    replayed: bool


@dataclass(frozen=True)
class _FromTemplate:
    """The template a job's prompt was rendered from: id, version, and a notice for the job
    when the template's pins could not be honoured as written."""

    template_id: str
    version: int
    notice: str | None = None


@dataclass
class _Resolved:
    """The job's provider, model, image count, size class and stored params, after defaults."""

    provider: str
    model: str
    n: int
    size: str
    params: dict[str, Any]


def describe(job: JobModel) -> JobRecord:
    """The job with a presigned URL for each of its images."""
    return JobRecord(job, tuple(storage.presigned_url(image["s3_key"]) for image in (job.images or [])))


def create_job(order: JobOrder) -> CreatedJob:
    """Admit and queue a job (admission holds its credits before the 202), or replay the job this
    Idempotency-Key admitted before."""
    order, template = _templated(order)
    resolved = _resolve(order)
    now = clock.now()
    job = _draft(order, resolved, now, template)
    past_due_since = billing_settings.of(order.workspace).settings.past_due_since
    limits = effective_limits(effective_plan(order.workspace.plan, past_due_since, now), order.workspace.limits)
    key = f"idem:{order.idempotency_key}" if order.idempotency_key else job.job_id
    started = time.perf_counter()
    try:
        admission = admit_job(
            AdmissionRequest(job, order.workspace.plan, limits, key, order.request_hash, now, order.caps or SpendCaps())
        )
    except DuplicateAdmission as duplicate:
        return _replay(order, duplicate)
    except (AmbiguousWrite, Contention):
        raise AdmissionUnavailable(
            "the job could not be admitted right now; retry with the same Idempotency-Key", retry_after=1
        ) from None
    except Denied as denied:
        raise _refused(order, job, denied, now) from None
    admission_ms = int((time.perf_counter() - started) * 1000)
    queue.enqueue_job(
        JobMessage(
            job.workspace_id,
            job.job_id,
            provider=job.provider,
            images=int(job.n),
            admission_ms=admission_ms,
            correlation_id=order.correlation_id,
        )
    )
    job.timings = {"admission_ms": admission_ms}
    if template is not None:
        _count_use(template.template_id, job)
    return CreatedJob(describe(job), admission.rate, replayed=False)


def _templated(order: JobOrder) -> tuple[JobOrder, _FromTemplate | None]:
    """The order with its prompt rendered on the server from `template_id` + `variables` (the
    template's pins fill what the request leaves open), before anything is admitted. Without a
    template the prompt is required and no variable may be given."""
    spec = order.spec
    if spec.template_id is None:
        if spec.variables:
            name = next(iter(spec.variables))
            raise InvalidJob(f"variable {name!r} given without a template_id", field=f"variables.{name}")
        if spec.prompt is None:
            raise InvalidJob("prompt is required (or a template_id)", field="prompt")
        return order, None
    if spec.prompt is not None:
        raise InvalidJob("give either a prompt or a template_id, not both", field="prompt")
    caller = templates.Caller(order.workspace.workspace_id, order.user_id, role="")  # using one needs no role
    rendered = templates.render_template(caller, spec.template_id, spec.variables or {})
    pins = rendered.template.pins
    model, notice = (spec.model, None) if spec.model or spec.provider else templates.fallback_model(pins)
    spec = replace(
        spec,
        prompt=rendered.prompt,
        provider=spec.provider or pins.provider,
        model=model,
        size=spec.size or pins.size,
        n=spec.n or pins.n,
    )
    return replace(order, spec=spec), _FromTemplate(rendered.template.template_id, rendered.template.version, notice)


def _count_use(template_id: str, job: JobModel) -> None:
    """Usage counts are for the marketplace: a failed count never fails an admitted job."""
    try:
        templates.count_use(template_id, job.workspace_id, job.job_id)
    except (PynamoDBException, BotoCoreError) as error:
        logger.warning("template use not counted", extra={"template_id": template_id, "error": str(error)})


def _resolve(order: JobOrder) -> _Resolved:
    """Apply the user's defaults and check the request against what its kind needs."""
    spec, prefs = order.spec, order.user_settings
    provider = spec.provider or prefs.get("default_provider") or get_settings().default_provider
    size = spec.size or prefs.get("default_size") or "1024x1024"
    if spec.model and spec.model.startswith(TRAINED_PREFIX):  # the workspace's own trained model (issue 16)
        provider = trained_models.provider_for_model(order.workspace.workspace_id, spec.model, provider)
    model = spec.model or DEFAULT_MODEL.get(provider, "")
    try:
        model_price(provider, model)
    except UnknownPrice:
        raise InvalidJob(f"unknown model {model!r} for provider {provider!r}", field="model") from None
    if is_trainer_model(provider, model):  # prices trainings, never a job
        raise InvalidJob(f"unknown model {model!r} for provider {provider!r}", field="model")
    _check_kind(spec)
    inputs = {
        name: _require_image(order.workspace.workspace_id, getattr(spec, name), name)
        for name in kinds.IMAGE_INPUTS
        if getattr(spec, name)
    }
    params: dict[str, Any] = {name: image.image_id for name, image in inputs.items()}
    for name in ("strength", "scale", "template_id", "variables"):
        if getattr(spec, name) is not None:
            params[name] = getattr(spec, name)
    resolved = _Resolved(provider, model, spec.n or prefs.get("default_n") or 1, size, params)
    if kinds.runs_on_tools(spec.kind, spec.operations):
        _on_tools(spec, inputs["source_image_id"], resolved)
    return resolved


def _check_kind(spec: JobSpec) -> None:
    if spec.kind in kinds.NEEDS_SOURCE and not spec.source_image_id:
        raise InvalidJob(f"kind {spec.kind!r} needs source_image_id", field="source_image_id")
    if spec.kind == "style_transfer" and not spec.style_image_id:
        raise InvalidJob("kind 'style_transfer' needs style_image_id", field="style_image_id")
    if spec.operations and spec.kind != "edit":
        raise InvalidJob("operations are for kind 'edit'", field="operations")


def _on_tools(spec: JobSpec, source: ImageModel, resolved: _Resolved) -> None:
    """Our own tools (Pillow), not a provider: one output image, priced by its size."""
    if spec.n not in (None, 1):
        what = "upscale" if spec.kind == "upscale" else "operations"
        raise InvalidJob(f"{what} make one image; n must be 1", field="n")
    resolved.provider, resolved.model, resolved.n = "local", DEFAULT_MODEL["local"], 1
    params = resolved.params
    if spec.kind == "upscale":
        params["scale"] = spec.scale or 2
        width, height = upscaled_size(int(source.width), int(source.height), params["scale"])
    else:
        params["operations"] = list(spec.operations or [])
        width, height = int(source.width), int(source.height)
    params["width"], params["height"] = width, height
    resolved.size = size_class(width, height)


def _require_image(workspace_id: str, image_id: str, field: str) -> ImageModel:
    if not ids.is_id(image_id, "img"):
        raise InvalidJob(f"{field} is not an image id", field=field)
    image = image_store.get_image(workspace_id, image_id)
    if image is None:
        raise ImageNotFound(f"image {image_id} not found")
    return image


def _draft(order: JobOrder, resolved: _Resolved, now: datetime, template: _FromTemplate | None) -> JobModel:
    """The queued job's row (admission writes it); the seed is derived from the id unless given."""
    job_id = ids.new_id("job", now)
    seed = order.spec.seed
    if seed is None:
        seed = int(hashlib.sha256(job_id.encode()).hexdigest()[:7], 16)
    job = job_store.new_job(
        order.workspace.workspace_id,
        job_id,
        user_id=order.user_id,
        key_id=order.key_id,
        kind=order.spec.kind,
        prompt=str(order.spec.prompt),
        provider=resolved.provider,
        model=resolved.model,
        n=resolved.n,
        size=resolved.size,
        seed=seed,
        params=resolved.params,
        correlation_id=order.correlation_id,
        created_at=now,
    )
    if template is not None:
        job_store.set_template(job, template.template_id, template.version, template.notice)
    return job


def _replay(order: JobOrder, duplicate: DuplicateAdmission) -> CreatedJob:
    """The job this Idempotency-Key admitted; queued again if still queued (its message may be lost)."""
    if duplicate.request_hash != order.request_hash:
        raise RepeatedKey("this Idempotency-Key was used with a different body")
    existing = _load(order.workspace.workspace_id, duplicate.job_id)
    if existing.status == "queued":
        queue.enqueue_job(
            JobMessage(
                existing.workspace_id,
                existing.job_id,
                provider=existing.provider,
                images=int(existing.n),
                correlation_id=existing.correlation_id,
            )
        )
    return CreatedJob(describe(existing), None, replayed=True)


def _refused(order: JobOrder, job: JobModel, denied: Denied, now: datetime) -> DomainError:
    """The domain error for a refused admission, after recording the denial (admin "what failed")."""
    error = refusal(denied)
    record_denial(
        order.workspace.workspace_id,
        str(error.code),
        now,
        user_id=order.user_id,
        key_id=order.key_id,
        scope=getattr(denied, "scope", None),
        provider=job.provider,
        message=denied.message,
        request_id=order.correlation_id,
    )
    return error


def _load(workspace_id: str, job_id: str) -> JobModel:
    """A job of this workspace; another tenant's job is simply not found."""
    job = job_store.get_job(workspace_id, job_id) if ids.is_id(job_id, "job") else None
    if job is None:
        raise JobNotFound(f"job {job_id} not found")
    return job


def get_job(workspace_id: str, job_id: str) -> JobRecord:
    """A job of this workspace, read consistently."""
    return describe(_load(workspace_id, job_id))


def list_jobs(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[JobRecord], Cursor | None]:
    """Newest first (ULID keys sort by time), strongly consistent: a new job shows at once."""
    jobs, last = job_store.newest_jobs(workspace_id, limit, cursor)
    return [describe(job) for job in jobs], last


def cancel_job(workspace_id: str, job_id: str) -> JobRecord:
    """Cancel a queued job: its hold is released and the worker will skip it."""
    job = _load(workspace_id, job_id)
    if job.status != "queued":
        raise NotCancelable(job.status)
    now = clock.now()
    outcome = release_job(
        job, JobFinal(status="canceled", finished_at=now), now, reason="canceled", job_condition=job_store.still_queued()
    )
    job = _load(workspace_id, job_id)
    if not outcome.applied and job.status != "canceled":
        raise NotCancelable(job.status)
    return describe(job)
