"""Every response shape of the API as a typed model, in one module.

These models are the contract of ../shared/API.md in code: routes render them, and the OpenAPI
document is generated from them, so each field says what it is. Each model is built from the
service's result with a `of(...)` constructor; nothing else builds response dicts.

Sections: shared · jobs and images · account (me, keys, balance, ledger, usage) · billing ·
admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from chalicelib.generation.service import JobRecord

T = TypeVar("T")


class Response(BaseModel):
    """Base of every response model: unknown attributes are a bug, not a passthrough."""

    model_config = ConfigDict(extra="forbid")


# --- shared -----------------------------------------------------------------------------------


class Page(Response, Generic[T]):
    """A list: newest first unless stated, `next_cursor` null on the last page."""

    data: list[T]
    next_cursor: str | None = Field(default=None, description="opaque; pass it as ?cursor= for the next page")


# --- jobs and images --------------------------------------------------------------------------

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class ErrorInfo(Response):
    """Why a job failed."""

    code: str = Field(description="machine-readable, e.g. content_blocked, provider_error, dead_lettered, timeout")
    message: str


class ImageView(Response):
    """An image a job made (or an upload), with a presigned, expiring URL."""

    id: str = Field(description="img_…")
    job_id: str
    url: str = Field(description="presigned GET, expires after PRESIGN_EXPIRY_S")
    width: int
    height: int
    content_type: str
    bytes: int
    created_at: str = Field(description="RFC 3339 UTC")
    source_image_id: str | None = Field(default=None, description="lineage: the image it was made from")

    @classmethod
    def of(cls, image: dict[str, Any], job_id: str, url: str) -> ImageView:
        """One of a job's image records (as settlement stored it) with its presigned URL."""
        return cls(id=image["id"], job_id=job_id, url=url, width=image["width"], height=image["height"],
                   content_type=image["content_type"], bytes=image["bytes"], created_at=image["created_at"],
                   source_image_id=image.get("source_image_id"))


class JobUsage(Response):
    """What the job reserved at admission and what it was charged at settlement, in credits."""

    credits_reserved: int
    credits_charged: int
    cost_micro_usd: int = Field(description="the provider's cost, integer micro-USD")
    input_tokens: int
    output_tokens: int
    provider_ms: int

    @classmethod
    def of(cls, usage: dict[str, Any] | None, credits_reserved: float | None) -> JobUsage:
        """The job's usage record; before settlement only the reservation is known (the rest 0)."""
        usage = usage or {}
        return cls(credits_reserved=int(usage.get("credits_reserved", credits_reserved or 0)),
                   **{name: int(usage.get(name, 0)) for name in
                      ("credits_charged", "cost_micro_usd", "input_tokens", "output_tokens", "provider_ms")})


class JobView(Response):
    """A generation job (API.md `Job`)."""

    id: str = Field(description="job_… (ULID: sorts by creation time)")
    status: JobStatus
    kind: str
    prompt: str
    provider: str
    model: str
    n: int
    size: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    error: ErrorInfo | None
    images: list[ImageView]
    usage: JobUsage
    params: dict[str, Any] = Field(description="kind-specific inputs: source_image_id, strength, scale, operations…")
    timings: dict[str, int] = Field(description="ms per phase: admission, queue wait, provider, storage, settlement")
    correlation_id: str | None

    @classmethod
    def of(cls, record: JobRecord) -> JobView:
        """The job of a service's `JobRecord` (its presigned URLs already made)."""
        job = record.job
        images = [ImageView.of(image, job.job_id, url)
                  for image, url in zip(job.images or [], record.image_urls, strict=True)]
        return cls(id=job.job_id, status=cast("JobStatus", job.status), kind=job.kind, prompt=job.prompt, provider=job.provider,
                   model=job.model, n=int(job.n), size=job.size, created_at=rfc3339(job.created_at),
                   started_at=rfc3339(job.started_at), finished_at=rfc3339(job.finished_at),
                   error=ErrorInfo.model_validate(job.error) if job.error else None, images=images,
                   usage=JobUsage.of(job.usage, job.credits_reserved), params=job.params or {},
                   timings=job.timings or {}, correlation_id=job.correlation_id)


class JobEnvelope(Response):
    """One job: the answer of create (202), get and cancel."""

    job: JobView

    @classmethod
    def of(cls, record: JobRecord) -> JobEnvelope:
        return cls(job=JobView.of(record))


class JobPage(Page[JobView]):
    """A page of the workspace's jobs, newest first."""

    @classmethod
    def of(cls, records: list[JobRecord], next_cursor: str | None) -> JobPage:
        return cls(data=[JobView.of(record) for record in records], next_cursor=next_cursor)


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z, the one time format of the API."""
    from chalicelib.clock import iso

    return iso(value)
