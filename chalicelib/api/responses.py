"""Every response shape of the API as a typed model, in one module.

These models are the contract of ../shared/API.md in code: routes render them, and the OpenAPI
document is generated from them, so each field says what it is. Each model is built from the
service's result with a `of(...)` constructor; nothing else builds response dicts.

Sections: shared · jobs and images · account (me, keys, balance, ledger, usage) · billing ·
admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

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


class JobUsage(Response):
    """What the job reserved at admission and what it was charged at settlement, in credits."""

    credits_reserved: int
    credits_charged: int
    cost_micro_usd: int = Field(description="the provider's cost, integer micro-USD")
    input_tokens: int
    output_tokens: int
    provider_ms: int


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


class JobEnvelope(Response):
    job: JobView


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z, the one time format of the API."""
    from chalicelib.clock import iso

    return iso(value)
