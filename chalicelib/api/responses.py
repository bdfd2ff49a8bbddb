"""Every response shape of the API as a typed model, in one module.

These models are the contract of ../shared/API.md in code: routes render them, and the OpenAPI
document is generated from them, so each field says what it is. Each model is built from the
service's result with a `of(...)` constructor; nothing else builds response dicts.

Sections: shared · jobs and images · account (me, keys, balance, ledger, usage) · billing ·
admin.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

if TYPE_CHECKING:
    from chalicelib.billing.common import Result as StripeResult
    from chalicelib.billing.events import RejectedEvent
    from chalicelib.billing.topup import AutoTopupState
    from chalicelib.store.billing_settings import BillingSettings

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


# --- billing ----------------------------------------------------------------------------------


class CheckoutSessionUrl(Response):
    """Where to send the buyer: a Stripe Checkout page for the pack or plan."""

    url: str = Field(description="Stripe Checkout URL; the credits or the plan arrive with Stripe's webhook events")

    @classmethod
    def of(cls, url: str) -> CheckoutSessionUrl:
        return cls(url=url)


class AutoTopupView(Response):
    """A workspace's auto top-up: buy `amount` credits off-session when `available` drops below
    `threshold`, never more than `monthly_cap` credits in a month."""

    enabled: bool
    threshold: int = Field(description="credits; a top-up is queued when `available` falls below it")
    amount: int = Field(description="credits bought per top-up")
    monthly_cap: int = Field(description="credits auto top-up may buy per calendar month (UTC)")
    granted_this_month: int = Field(description="credits auto top-up bought this month")
    consecutive_failures: int = Field(description="failed payments in a row; 3 turn auto top-up off")
    disabled_reason: str | None = Field(description="why it was turned off automatically, if it was")
    pending: bool = Field(description="a payment is in flight")

    @classmethod
    def of(cls, state: AutoTopupState) -> AutoTopupView:
        return cls(**asdict(state))


class AutoTopupEnvelope(Response):
    auto_topup: AutoTopupView

    @classmethod
    def of(cls, state: AutoTopupState) -> AutoTopupEnvelope:
        return cls(auto_topup=AutoTopupView.of(state))


WebhookOutcome = Literal["applied", "duplicate", "ignored", "rejected"]


class WebhookReceipt(Response):
    """What the Stripe webhook answers (2xx): Stripe shows it next to the delivery."""

    received: bool = True
    outcome: WebhookOutcome = Field(description="applied · duplicate (seen before) · ignored (not ours or not "
                                                "handled) · rejected (signed but refused for good; listed for admins)")
    reason: str | None = Field(default=None, description="why it was rejected (only when rejected)")

    @classmethod
    def of(cls, result: StripeResult) -> WebhookReceipt:
        rejected = result.outcome == "rejected"
        return cls(outcome=cast("WebhookOutcome", result.outcome), reason=result.detail if rejected else None)

    @model_serializer(mode="wrap")
    def _reason_only_when_rejected(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("reason") is None:
            data.pop("reason", None)
        return data


class BillingSettingsView(Response):
    """A workspace's billing settings as admins see them."""

    provider: Literal["stripe", "internal"] = Field(description="stripe: self-serve by card; internal: invoiced")
    customer_id: str | None = Field(description="Stripe customer (cus_…)")
    payment_method: str | None = Field(description="the card auto top-up charges (pm_…)")
    subscription_id: str | None = Field(description="the current subscription (sub_…)")
    subscription_status: str | None = Field(description="Stripe's status of that subscription")
    cancel_at_period_end: bool
    current_period_end: int | None = Field(description="seconds since the epoch")
    past_due_since: int | None = Field(description="seconds since the epoch of the first failed payment")

    @classmethod
    def of(cls, settings: BillingSettings) -> BillingSettingsView:
        return cls(**settings.as_data())


class WorkspaceBillingEnvelope(Response):
    """PUT /admin/api/workspaces/{id}/billing answers the settings as they now are."""

    workspace_id: str
    billing: BillingSettingsView

    @classmethod
    def of(cls, workspace_id: str, settings: BillingSettings) -> WorkspaceBillingEnvelope:
        return cls(workspace_id=workspace_id, billing=BillingSettingsView.of(settings))


class RejectedEventView(Response):
    """A signed Stripe event acknowledged but refused for good: a payment or change to look at by hand."""

    id: str = Field(description="rej_…")
    event_id: str = Field(description="Stripe's evt_…")
    event_type: str
    reason: str
    field: str | None = Field(description="the offending part of the event, when known")
    workspace_id: str | None = Field(description="the workspace the event names, if any")
    created_at: str | None = Field(description="RFC 3339 UTC")

    @classmethod
    def of(cls, row: RejectedEvent) -> RejectedEventView:
        return cls(id=row.id, event_id=row.event_id, event_type=row.event_type, reason=row.reason, field=row.field,
                   workspace_id=row.workspace_id, created_at=rfc3339(row.created_at))


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z, the one time format of the API."""
    from chalicelib.clock import iso

    return iso(value)
