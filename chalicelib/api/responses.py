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

from pydantic import BaseModel, ConfigDict, Field, RootModel, SerializerFunctionWrapHandler, model_serializer

from chalicelib.clock import iso

if TYPE_CHECKING:
    from chalicelib.billing.common import Result as StripeResult
    from chalicelib.billing.events import RejectedEvent
    from chalicelib.billing.topup import AutoTopupState
    from chalicelib.store.billing_settings import BillingSettings

if TYPE_CHECKING:
    from chalicelib.generation.service import JobRecord
    from chalicelib.templates.records import TemplateRecord, TemplateUsage
    from chalicelib.templates.service import Rendered


if TYPE_CHECKING:
    from chalicelib.accounting.plans import Limits
    from chalicelib.store.audit import AuditEntry
    from chalicelib.store.models import ApiKeyModel, DenialModel, LedgerEntryModel, UserModel, WorkspaceModel
    from chalicelib.tenancy.account import AccountBalance, UsageRows
    from chalicelib.tenancy.admin import BanChange, Catalog, LimitsChange, WorkspaceDetail
    from chalicelib.tenancy.auth import Principal
    from chalicelib.tenancy.keys import NewKey
    from chalicelib.tenancy.reports import UsageReport
    from chalicelib.tenancy.service import NewWorkspace

if TYPE_CHECKING:
    from chalicelib.webhooks.endpoints import EndpointRecord, EndpointWithSecret
    from chalicelib.webhooks.service import DeliveryRecord

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
        return cls(
            id=image["id"],
            job_id=job_id,
            url=url,
            width=image["width"],
            height=image["height"],
            content_type=image["content_type"],
            bytes=image["bytes"],
            created_at=image["created_at"],
            source_image_id=image.get("source_image_id"),
        )


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
        return cls(
            credits_reserved=int(usage.get("credits_reserved", credits_reserved or 0)),
            **{
                name: int(usage.get(name, 0))
                for name in ("credits_charged", "cost_micro_usd", "input_tokens", "output_tokens", "provider_ms")
            },
        )


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
    template_id: str | None = Field(default=None, description="the template the prompt was rendered from")
    template_version: int | None = Field(default=None, description="... at this version")
    template_notice: str | None = Field(default=None, description="e.g. the template's pinned model was gone and what was used")

    @classmethod
    def of(cls, record: JobRecord) -> JobView:
        """The job of a service's `JobRecord` (its presigned URLs already made)."""
        job = record.job
        images = [ImageView.of(image, job.job_id, url) for image, url in zip(job.images or [], record.image_urls, strict=True)]
        return cls(
            id=job.job_id,
            status=cast("JobStatus", job.status),
            kind=job.kind,
            prompt=job.prompt,
            provider=job.provider,
            model=job.model,
            n=int(job.n),
            size=job.size,
            created_at=rfc3339(job.created_at),
            started_at=rfc3339(job.started_at),
            finished_at=rfc3339(job.finished_at),
            error=ErrorInfo.model_validate(job.error) if job.error else None,
            images=images,
            usage=JobUsage.of(job.usage, job.credits_reserved),
            params=job.params or {},
            timings=job.timings or {},
            correlation_id=job.correlation_id,
            template_id=job.template_id,
            template_version=int(job.template_version) if job.template_version is not None else None,
            template_notice=job.template_notice,
        )


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
    outcome: WebhookOutcome = Field(
        description="applied · duplicate (seen before) · ignored (not ours or not "
        "handled) · rejected (signed but refused for good; listed for admins)"
    )
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
        return cls(
            id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            reason=row.reason,
            field=row.field,
            workspace_id=row.workspace_id,
            created_at=rfc3339(row.created_at),
        )


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z, the one time format of the API."""
    return iso(value)


# --- account ----------------------------------------------------------------------------------


class UserView(Response):
    """A person acting in one workspace."""

    id: str = Field(description="usr_…")
    email: str
    display_name: str | None
    role: str = Field(description="the role in the workspace: owner, admin or member")
    is_admin: bool = Field(description="a platform admin (may use /admin)")
    status: str = Field(description="active or banned")
    settings: dict[str, Any] = Field(description="defaults for new jobs (provider, size, n) and notification choices")
    workspace_id: str
    created_at: str | None = Field(description="RFC 3339 UTC")

    @classmethod
    def of(cls, user: UserModel) -> UserView:
        return cls(
            id=user.user_id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            is_admin=bool(user.is_admin),
            status=user.status,
            settings=user.settings or {},
            workspace_id=user.workspace_id,
            created_at=rfc3339(user.created_at),
        )


class WorkspaceView(Response):
    """A workspace: the tenant that owns a wallet, keys and jobs."""

    id: str = Field(description="ws_… (ULID: sorts by creation time)")
    name: str
    plan: str = Field(description="free, starter, pro or enterprise")
    billing_interval: str | None = Field(description="month or year for a subscription, else null")
    status: str = Field(description="active or banned")
    ban_reason: str | None
    owner_user_id: str | None
    limits: dict[str, Any] = Field(description="an admin's overrides of the plan's limits (empty: the plan's)")
    created_at: str | None = Field(description="RFC 3339 UTC")

    @classmethod
    def of(cls, ws: WorkspaceModel) -> WorkspaceView:
        return cls(
            id=ws.workspace_id,
            name=ws.name,
            plan=ws.plan,
            billing_interval=ws.billing_interval,
            status=ws.status,
            ban_reason=ws.ban_reason,
            owner_user_id=ws.owner_user_id,
            limits=ws.limits or {},
            created_at=rfc3339(ws.created_at),
        )


class MeView(Response):
    """`GET /v1/me`: who the key acts as."""

    user: UserView
    workspace: WorkspaceView
    role: str

    @classmethod
    def of(cls, user: UserModel, workspace: WorkspaceModel, role: str | None = None) -> MeView:
        """`role`: the caller's role in `workspace` (teams: a person has one per workspace)."""
        return cls(user=UserView.of(user), workspace=WorkspaceView.of(workspace), role=role or user.role)


class KeyView(Response):
    """An API key as lists show it: never its secret, only the secret's first characters."""

    id: str = Field(description="key_…")
    name: str
    prefix: str = Field(description="the secret's first 12 characters, to tell keys apart")
    created_at: str | None
    last_used_at: str | None = Field(description="recorded at most once a minute")
    revoked_at: str | None = Field(description="set once revoked: the key then gets 401")
    scopes: list[str] | None = Field(default=None, description="what the key may do (null: all its user's role allows)")
    credits_per_day: int | None = Field(default=None, description="the key's daily spend cap in credits (null: none)")
    credits_per_month: int | None = Field(default=None, description="the key's monthly spend cap in credits (null: none)")
    owner: str = Field(default="user", description="user (a person's key) or workspace (a service key)")

    @classmethod
    def of(cls, key: ApiKeyModel) -> KeyView:
        return cls(
            id=key.key_id,
            name=key.name,
            prefix=key.prefix,
            created_at=rfc3339(key.created_at),
            last_used_at=rfc3339(key.last_used_at),
            revoked_at=rfc3339(key.revoked_at),
            scopes=None if key.scopes is None else [str(s) for s in key.scopes],
            credits_per_day=None if key.credits_per_day is None else int(key.credits_per_day),
            credits_per_month=None if key.credits_per_month is None else int(key.credits_per_month),
            owner=key.owner or "user",
        )


class KeyCreated(Response):
    """`POST /v1/keys` (201): the new key and its secret, shown this once."""

    key: KeyView
    secret: str = Field(description="sk_test_…/sk_live_…: only its hash is stored; a replay answers it as null")

    @classmethod
    def of(cls, made: NewKey) -> KeyCreated:
        return cls(key=KeyView.of(made.key), secret=made.secret)


class KeyPage(Page[KeyView]):
    """The caller's keys, newest first (one page: a user has few)."""

    @classmethod
    def of(cls, keys: list[ApiKeyModel]) -> KeyPage:
        return cls(data=[KeyView.of(k) for k in keys], next_cursor=None)


class AllowanceView(Response):
    """The plan's allowance of the period, in credits."""

    granted: int
    used: int
    remaining: int


class BalanceView(Response):
    """`GET /v1/balance`: the wallet's pools in credits (integers), spent allowance first."""

    workspace_id: str
    plan: str
    billing_interval: str | None = Field(description="month, year or null")
    period: str = Field(description="the allowance period, YYYY-MM")
    period_start: str | None
    period_end: str | None
    allowance: AllowanceView
    purchased: int = Field(description="purchased credits left (they do not expire)")
    held: int = Field(description="reserved by jobs admitted and not yet settled")
    available: int = Field(description="what a new job may reserve: allowance remaining + purchased - held")
    debt: int = Field(description="clawbacks that found no credits (refunds, disputes)")
    auto_topup: AutoTopupView | None = Field(description="auto top-up settings and state; null if never configured")

    @classmethod
    def of(cls, account: AccountBalance) -> BalanceView:
        b = account.balance
        return cls(
            workspace_id=b.workspace_id,
            plan=b.plan,
            billing_interval=account.billing_interval,
            period=b.period,
            period_start=rfc3339(b.period_start),
            period_end=rfc3339(b.period_end),
            allowance=AllowanceView(granted=b.allowance_granted, used=b.allowance_used, remaining=b.allowance_remaining),
            purchased=b.purchased,
            held=b.held,
            available=b.available,
            debt=b.debt,
            auto_topup=AutoTopupView.of(account.auto_topup) if account.auto_topup is not None else None,
        )


class LedgerEntryView(Response):
    """One immutable ledger entry: sum(amount) is the balance, sum(held_delta) what is held."""

    id: str = Field(description="led_… (ULID: newest first by id)")
    type: str = Field(description="hold, charge, release, grant, expire, purchase, adjust, …")
    amount: int
    held_delta: int
    job_id: str | None
    user_id: str | None
    key_id: str | None
    provider: str | None
    model: str | None
    period: str | None
    source: str | None = Field(description="the business object that caused it (invoice, session, …)")
    reason: str | None
    details: dict[str, Any] = Field(description="tokens, provider_ms, cost_micro_usd, images, …")
    created_at: str | None

    @classmethod
    def of(cls, e: LedgerEntryModel) -> LedgerEntryView:
        return cls(
            id=e.entry_id,
            type=e.type,
            amount=int(e.amount),
            held_delta=int(e.held_delta),
            job_id=e.job_id,
            user_id=e.user_id,
            key_id=e.key_id,
            provider=e.provider,
            model=e.model,
            period=e.period,
            source=e.source,
            reason=e.reason,
            details=e.details or {},
            created_at=rfc3339(e.created_at),
        )


class LedgerPage(Page[LedgerEntryView]):
    """`GET /v1/ledger`: the workspace's entries, newest first."""

    @classmethod
    def of(cls, entries: list[LedgerEntryModel], next_cursor: str | None) -> LedgerPage:
        return cls(data=[LedgerEntryView.of(e) for e in entries], next_cursor=next_cursor)


class UsageRow(Response):
    """Usage of one group (a day, a provider, a model, a user, …) from the daily rollups."""

    key: str = Field(description="the group: a day, provider, provider/model, user id or day#provider")
    jobs: int = Field(description="jobs that succeeded")
    failed: int
    images: int
    credits: int
    cost_micro_usd: int
    input_tokens: int
    output_tokens: int
    provider_ms: int


class UsagePage(Response):
    """`GET /v1/usage`: rows of one grouping, ordered by key."""

    data: list[UsageRow]
    group_by: str
    next_cursor: None = Field(default=None, description="always null: one page")

    @classmethod
    def of(cls, usage: UsageRows) -> UsagePage:
        return cls(data=[UsageRow.model_validate(r) for r in usage.rows], group_by=usage.group_by)


# --- admin ------------------------------------------------------------------------------------


class AdminIdentity(Response):
    user_id: str
    email: str


class ProviderModel(Response):
    provider: str
    model: str


class AdminMeta(Response):
    """`GET /admin/api/meta`: what the dashboard's filters and forms offer."""

    plans: list[str]
    providers: list[str]
    models: list[ProviderModel]
    job_statuses: list[str]
    scheduled: list[str] = Field(description="tasks `POST /admin/api/scheduled/{name}/run` runs")
    limits: list[str] = Field(description="the limit names an admin may override")
    credit_value_micro_usd: int = Field(description="the list price of a credit: revenue and margins")
    admin: AdminIdentity

    @classmethod
    def of(cls, catalog: Catalog, caller: Principal) -> AdminMeta:
        return cls(
            plans=list(catalog.plans),
            providers=sorted({p for p, _ in catalog.models}),
            models=[ProviderModel(provider=p, model=m) for p, m in catalog.models],
            job_statuses=list(catalog.job_statuses),
            scheduled=list(catalog.scheduled),
            limits=list(catalog.limits),
            credit_value_micro_usd=catalog.credit_value_micro_usd,
            admin=AdminIdentity(user_id=caller.user.user_id, email=caller.user.email),
        )


class WorkspaceCreated(Response):
    """`POST /admin/api/workspaces` (201): the workspace, its owner and the owner's first key."""

    workspace: WorkspaceView
    owner: UserView
    api_key: str = Field(description="the first key's secret, shown this once (a replay answers null)")
    key: KeyView

    @classmethod
    def of(cls, made: NewWorkspace) -> WorkspaceCreated:
        return cls(
            workspace=WorkspaceView.of(made.workspace),
            owner=UserView.of(made.owner),
            api_key=made.secret,
            key=KeyView.of(made.key),
        )


class WorkspacePage(Page[WorkspaceView]):
    """`GET /admin/api/workspaces`: newest first; filtered pages may be short before the last."""

    @classmethod
    def of(cls, workspaces: list[WorkspaceModel], next_cursor: str | None) -> WorkspacePage:
        return cls(data=[WorkspaceView.of(w) for w in workspaces], next_cursor=next_cursor)


class LimitsView(Response):
    """A workspace's effective limits: its plan's, with an admin's overrides applied."""

    requests_per_minute_user: int
    requests_per_minute_workspace: int
    requests_per_minute_key: int
    requests_per_minute: int = Field(description="API.md's name for the workspace's rate")
    tokens_per_day: int
    credits_per_day: int
    max_concurrent_jobs: int = Field(description="jobs running at once (the worker starts no more)")
    max_queued_jobs: int = Field(description="jobs admitted and unfinished (admission refuses more: 429 queue)")
    providers: list[str]

    @classmethod
    def of(cls, limits: Limits) -> LimitsView:
        return cls.model_validate(limits.as_dict())


class AuditView(Response):
    """Who changed what, before and after, and why."""

    id: str = Field(description="aud_…")
    target: str = Field(description="the workspace (ws_…) or `platform`")
    actor: str = Field(description="the admin's user id, or system, seed, cli, stripe…")
    action: str = Field(description="e.g. workspace.ban, workspace.limits, credits.adjust, scheduled.reconcile")
    before: Any
    after: Any
    reason: str | None
    created_at: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditView:
        return cls(
            id=entry.id,
            target=entry.target,
            actor=entry.actor,
            action=entry.action,
            before=entry.before,
            after=entry.after,
            reason=entry.reason,
            created_at=rfc3339(entry.created_at),
        )


class WorkspaceDetailView(Response):
    """`GET /admin/api/workspaces/{id}`: the workspace and what an operator looks at first."""

    workspace: WorkspaceView
    balance: BalanceView
    limits: LimitsView
    users: list[UserView]
    ledger: list[LedgerEntryView] = Field(description="the newest entries")
    jobs: list[JobView] = Field(description="the newest jobs")
    audit: list[AuditView] = Field(description="the newest audit rows")

    @classmethod
    def of(cls, d: WorkspaceDetail) -> WorkspaceDetailView:
        return cls(
            workspace=WorkspaceView.of(d.workspace),
            balance=BalanceView.of(d.balance),
            limits=LimitsView.of(d.limits),
            users=[UserView.of(u) for u in d.users],
            ledger=[LedgerEntryView.of(e) for e in d.ledger],
            jobs=[JobView.of(j) for j in d.jobs],
            audit=[AuditView.of(a) for a in d.audit],
        )


class CreditEntry(Response):
    """`POST /admin/api/workspaces/{id}/credits` (201): the ledger entry of the grant or deduction."""

    entry: LedgerEntryView

    @classmethod
    def of(cls, entry: LedgerEntryModel) -> CreditEntry:
        return cls(entry=LedgerEntryView.of(entry))


class LimitsChanged(Response):
    """`PUT /admin/api/workspaces/{id}/limits`: the effective limits and the overrides set."""

    limits: LimitsView
    overrides: dict[str, Any]

    @classmethod
    def of(cls, change: LimitsChange) -> LimitsChanged:
        return cls(limits=LimitsView.of(change.limits), overrides=change.overrides)


class BanResult(Response):
    """A ban or unban: the workspace's or user's id and its status now."""

    id: str
    status: str = Field(description="banned or active")

    @classmethod
    def of(cls, change: BanChange) -> BanResult:
        return cls(id=change.id, status=change.status)


class TaskRun(Response):
    """`POST /admin/api/scheduled/{name}/run`: what the task reported."""

    name: str
    result: dict[str, Any]

    @classmethod
    def of(cls, name: str, result: dict[str, Any]) -> TaskRun:
        return cls(name=name, result=result)


class UsageTotals(Response):
    """Sums of the rows, with revenue (credits at their list value) and gross margin, in micro-USD."""

    jobs: int
    failed: int
    images: int
    credits: int
    cost_micro_usd: int
    input_tokens: int
    output_tokens: int
    provider_ms: int
    revenue_micro_usd: int
    gross_margin_micro_usd: int


class AdminUsage(Response):
    """`GET /admin/api/usage`: rows of a grouping, the top spenders (platform-wide), the totals."""

    data: list[UsageRow]
    group_by: str
    top_workspaces: list[UsageRow] = Field(description="by credits spent; empty when one workspace is asked for")
    totals: UsageTotals
    credit_value_micro_usd: int

    @classmethod
    def of(cls, report: UsageReport) -> AdminUsage:
        return cls(
            data=[UsageRow.model_validate(r) for r in report.rows],
            group_by=report.group_by,
            top_workspaces=[UsageRow.model_validate(r) for r in report.top_workspaces],
            totals=UsageTotals.model_validate(report.totals),
            credit_value_micro_usd=report.credit_value_micro_usd,
        )


class AdminJobView(JobView):
    """A job with the workspace and user it belongs to."""

    workspace_id: str
    user_id: str

    @classmethod
    def of(cls, record: JobRecord) -> AdminJobView:
        return cls(**JobView.of(record).model_dump(), workspace_id=record.job.workspace_id, user_id=record.job.user_id)


class AdminJobPage(Page[AdminJobView]):
    """`GET /admin/api/jobs`: a window's jobs, newest first."""

    @classmethod
    def of(cls, jobs: list[JobRecord], next_cursor: str | None) -> AdminJobPage:
        return cls(data=[AdminJobView.of(j) for j in jobs], next_cursor=next_cursor)


class DenialView(Response):
    """A refused admission (402/403/429): who, why, when."""

    id: str = Field(description="den_…")
    workspace_id: str
    user_id: str | None
    key_id: str | None
    code: str = Field(description="the envelope code it was answered with, e.g. rate_limited")
    scope: str | None
    provider: str | None
    message: str | None
    request_id: str | None = Field(description="the answer's X-Request-Id (its correlation id)")
    created_at: str | None

    @classmethod
    def of(cls, d: DenialModel) -> DenialView:
        return cls(
            id=d.denial_id,
            workspace_id=d.workspace_id,
            user_id=d.user_id,
            key_id=d.key_id,
            code=d.code,
            scope=d.scope,
            provider=d.provider,
            message=d.message,
            request_id=d.request_id,
            created_at=rfc3339(d.created_at),
        )


class DenialList(Response):
    """`GET /admin/api/denials`: refused admissions in a window, newest first."""

    data: list[DenialView]

    @classmethod
    def of(cls, denials: list[DenialModel]) -> DenialList:
        return cls(data=[DenialView.of(d) for d in denials])


# --- templates --------------------------------------------------------------------------------


class VariableView(Response):
    """A template variable's declaration (only the attributes of its type)."""

    type: Literal["string", "enum", "integer"]
    enum: list[str] | None = None
    default: str | int | None = None
    max_length: int | None = None
    min: int | None = None
    max: int | None = None


class TemplateUsageView(Response):
    """How often jobs were made from the template, and by how many workspaces."""

    uses: int
    workspaces: int


class TemplateView(Response):
    """A prompt template at one version (API.md "Templates")."""

    id: str = Field(description="tpl_… (ULID)")
    version: int = Field(description="the version shown; jobs record the version they used")
    latest_version: int
    name: str
    prompt: str = Field(description="with {variable} slots; {{ and }} are literal braces")
    variables: dict[str, VariableView]
    provider: str | None = Field(description="pinned for jobs made from it, unless the job names one")
    model: str | None
    size: str | None
    n: int | None
    tags: list[str]
    visibility: Literal["private", "workspace", "public"]
    prebuilt: bool = Field(description="part of the shipped catalogue: anyone may use it, nobody edits it")
    created_at: str
    updated_at: str = Field(description="when this version was made")
    usage: TemplateUsageView | None = Field(default=None, description="on GET of one template")

    @classmethod
    def of(cls, record: TemplateRecord, usage: TemplateUsage | None = None) -> TemplateView:
        pins = record.pins
        return cls(
            id=record.template_id,
            version=record.version,
            latest_version=record.latest_version,
            name=record.name,
            prompt=record.prompt,
            variables={name: VariableView.model_validate(v.as_dict()) for name, v in record.variables.items()},
            provider=pins.provider,
            model=pins.model,
            size=pins.size,
            n=pins.n,
            tags=list(record.tags),
            visibility=cast("Literal['private', 'workspace', 'public']", record.visibility),
            prebuilt=record.prebuilt,
            created_at=str(rfc3339(record.created_at)),
            updated_at=str(rfc3339(record.updated_at)),
            usage=TemplateUsageView(uses=usage.uses, workspaces=usage.workspaces) if usage is not None else None,
        )


class TemplateEnvelope(Response):
    """One template: the answer of create (201), get and patch."""

    template: TemplateView

    @classmethod
    def of(cls, record: TemplateRecord, usage: TemplateUsage | None = None) -> TemplateEnvelope:
        return cls(template=TemplateView.of(record, usage))


class TemplatePage(Page[TemplateView]):
    """A page of templates, newest first."""

    @classmethod
    def of(cls, records: list[TemplateRecord], next_cursor: str | None) -> TemplatePage:
        return cls(data=[TemplateView.of(record) for record in records], next_cursor=next_cursor)


class RenderedPrompt(Response):
    """POST /v1/templates/{id}/render: the prompt a job would get."""

    prompt: str
    template_id: str
    version: int

    @classmethod
    def of(cls, rendered: Rendered) -> RenderedPrompt:
        return cls(prompt=rendered.prompt, template_id=rendered.template.template_id, version=rendered.template.version)


# --- library ----------------------------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.library.bulk import ItemResult
    from chalicelib.library.folders import Folder
    from chalicelib.library.images import LibraryImage


class LibraryImageView(Response):
    """An image of the library (API.md `Image` with the library fields)."""

    id: str = Field(description="img_…")
    job_id: str | None = Field(description="the job that made it; null for an upload")
    url: str = Field(description="presigned, expiring")
    thumbnail_url: str | None = Field(description="presigned, expiring; uploads have one")
    width: int
    height: int
    content_type: str
    bytes: int
    created_at: str | None
    prompt: str | None
    title: str | None
    tags: list[str]
    folder_id: str | None
    source_image_id: str | None
    kind: str = Field(description="generate, vary, upscale, edit, style_transfer or upload")
    provider: str | None
    model: str | None
    user_id: str = Field(description="who made or uploaded it")
    visibility: Literal["private", "public"]
    hidden: bool = Field(
        default=False,
        description="a platform admin hid it from everything public (gallery, collections, share links); the owner keeps it",
    )
    trashed_at: str | None = Field(description="set while in the trash; purged 30 days later")

    @classmethod
    def of(cls, image: LibraryImage) -> LibraryImageView:
        row = image.row
        return cls(
            id=row.image_id,
            job_id=row.job_id or None,
            url=image.url,
            thumbnail_url=image.thumbnail_url,
            width=int(row.width),
            height=int(row.height),
            content_type=row.content_type,
            bytes=int(row.bytes),
            created_at=rfc3339(row.created_at),
            prompt=row.prompt,
            title=row.title,
            tags=[str(tag) for tag in row.tags or []],
            folder_id=row.folder_id,
            source_image_id=row.source_image_id,
            kind=row.kind or "generate",
            provider=row.provider,
            model=row.model,
            user_id=row.user_id,
            visibility="public" if row.visibility == "public" else "private",
            hidden=row.visibility == "hidden",
            trashed_at=rfc3339(row.trashed_at),
        )


class LibraryImageEnvelope(Response):
    """One image: get, patch, delete (to the trash), restore, an upload's completion."""

    image: LibraryImageView

    @classmethod
    def of(cls, image: LibraryImage) -> LibraryImageEnvelope:
        return cls(image=LibraryImageView.of(image))


class LibraryImagePage(Page[LibraryImageView]):
    """A page of images, newest first; with filters a page may hold fewer than `limit`."""

    @classmethod
    def of(cls, images: list[LibraryImage], next_cursor: str | None) -> LibraryImagePage:
        return cls(data=[LibraryImageView.of(image) for image in images], next_cursor=next_cursor)


class TagCountView(Response):
    name: str
    count: int = Field(description="images carrying the tag (trashed ones included until purged)")


class TagPage(Page[TagCountView]):
    """The workspace's tags by name."""

    @classmethod
    def of(cls, counts: list[tuple[str, int]], next_cursor: str | None) -> TagPage:
        return cls(data=[TagCountView(name=name, count=count) for name, count in counts], next_cursor=next_cursor)


class FolderView(Response):
    id: str = Field(description="fld_…")
    name: str
    parent_id: str | None
    path: str = Field(description='names from the root, e.g. "/Clients/Acme"')
    image_count: int = Field(description="live images directly in it")
    created_at: str | None

    @classmethod
    def of(cls, folder: Folder) -> FolderView:
        return cls(
            id=folder.id,
            name=folder.name,
            parent_id=folder.parent_id,
            path=folder.path,
            image_count=folder.image_count,
            created_at=rfc3339(folder.created_at),
        )


class FolderEnvelope(Response):
    folder: FolderView

    @classmethod
    def of(cls, folder: Folder) -> FolderEnvelope:
        return cls(folder=FolderView.of(folder))


class FolderPage(Page[FolderView]):
    """Folders of one parent, oldest first."""

    @classmethod
    def of(cls, folders: list[Folder], next_cursor: str | None) -> FolderPage:
        return cls(data=[FolderView.of(folder) for folder in folders], next_cursor=next_cursor)


class BulkItemView(Response):
    id: str
    ok: bool
    error: ErrorInfo | None = None


class BulkResults(Response):
    """One result per id given, in order; one bad id never fails the others."""

    results: list[BulkItemView]

    @classmethod
    def of(cls, results: list[ItemResult]) -> BulkResults:
        from chalicelib.api.errors import to_api_error

        views = []
        for result in results:
            error = None
            if result.error is not None:
                api_error = to_api_error(result.error)
                error = ErrorInfo(code=api_error.code, message=api_error.message)
            views.append(BulkItemView(id=result.id, ok=result.ok, error=error))
        return cls(results=views)


if TYPE_CHECKING:
    from chalicelib.library.uploads import NewUpload


class UploadView(Response):
    """Where and how to POST the file (multipart form: `fields` first, then `file`)."""

    id: str = Field(description="upl_…")
    url: str
    fields: dict[str, str] = Field(description="form fields of the presigned POST (policy, signature, key, Content-Type)")
    expires_at: str | None

    @classmethod
    def of(cls, upload: NewUpload) -> UploadView:
        return cls(id=upload.id, url=upload.url, fields=upload.fields, expires_at=rfc3339(upload.expires_at))


class UploadEnvelope(Response):
    upload: UploadView

    @classmethod
    def of(cls, upload: NewUpload) -> UploadEnvelope:
        return cls(upload=UploadView.of(upload))


if TYPE_CHECKING:
    from chalicelib.library.shares import PublicShare, Share


class ShareTargetView(Response):
    type: str
    id: str


class ShareView(Response):
    """A share link. `url` carries the token and is shown only when the share is created."""

    id: str = Field(description="shr_…")
    url: str | None = Field(description="the public link; null after creation (only the token's hash is kept)")
    target: ShareTargetView
    permission: Literal["view", "download"]
    show_prompt: bool
    expires_at: str | None
    revoked_at: str | None
    created_at: str | None

    @classmethod
    def of(cls, share: Share) -> ShareView:
        row = share.row
        return cls(
            id=row.share_id,
            url=share.url,
            target=ShareTargetView(type=row.target_type, id=row.target_id),
            permission="download" if row.permission == "download" else "view",
            show_prompt=bool(row.show_prompt),
            expires_at=rfc3339(row.expires_at),
            revoked_at=rfc3339(row.revoked_at),
            created_at=rfc3339(row.created_at),
        )


class ShareEnvelope(Response):
    share: ShareView

    @classmethod
    def of(cls, share: Share) -> ShareEnvelope:
        return cls(share=ShareView.of(share))


class SharePage(Page[ShareView]):
    """The workspace's share links, newest first (revoked ones with `revoked_at`)."""

    @classmethod
    def of(cls, shares: list[Share], next_cursor: str | None) -> SharePage:
        return cls(data=[ShareView.of(share) for share in shares], next_cursor=next_cursor)


class PublicItemView(Response):
    """A shared image, without any id: previews always, the original only with `download`."""

    title: str | None
    width: int
    height: int
    content_type: str
    prompt: str | None = Field(description="only when the share allows it")
    preview_url: str = Field(description="a reduced JPEG, presigned and expiring")
    download_url: str | None = Field(description="the original, presigned and expiring; `download` links only")


class PublicShareView(Response):
    """`GET /s/{token}`: the shared items and nothing else."""

    type: str = Field(description="image, folder or collection")
    name: str | None
    permission: Literal["view", "download"]
    expires_at: str | None
    items: list[PublicItemView]

    @classmethod
    def of(cls, shared: PublicShare) -> PublicShareView:
        return cls(
            type=shared.target_type,
            name=shared.name,
            permission="download" if shared.permission == "download" else "view",
            expires_at=rfc3339(shared.expires_at),
            items=[PublicItemView(**item.__dict__) for item in shared.items],
        )


# --- teams ------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.store.models import InvitationModel, OutboxMailModel
    from chalicelib.tenancy.invitations import Accepted
    from chalicelib.tenancy.members import Belonging, Member, Removal


class MemberView(Response):
    """A person in the workspace, with their role and monthly spend cap there."""

    user_id: str = Field(description="usr_…")
    email: str
    display_name: str | None
    role: str = Field(description="owner, admin, member or viewer")
    credits_per_month: int | None = Field(description="monthly spend cap in credits (null: none)")
    joined_at: str | None = Field(description="RFC 3339 UTC")

    @classmethod
    def of(cls, member: Member) -> MemberView:
        cap = member.row.credits_per_month
        return cls(
            user_id=member.user.user_id,
            email=member.user.email,
            display_name=member.user.display_name,
            role=member.role,
            credits_per_month=None if cap is None else int(cap),
            joined_at=rfc3339(member.row.joined_at or member.user.created_at),
        )


class MemberEnvelope(Response):
    """`PATCH /v1/members/{user_id}`, ownership transfer: the member as changed."""

    member: MemberView

    @classmethod
    def of(cls, member: Member) -> MemberEnvelope:
        return cls(member=MemberView.of(member))


class MemberPage(Page[MemberView]):
    """`GET /v1/members`: the workspace's people, oldest first (one page: a team is small)."""

    @classmethod
    def of(cls, members: list[Member]) -> MemberPage:
        return cls(data=[MemberView.of(m) for m in members], next_cursor=None)


class RemovalView(Response):
    """`DELETE /v1/members/{user_id}?dry_run=true`: the personal keys that stop with the removal."""

    user_id: str
    removed: bool = Field(description="false for a dry run")
    keys: list[KeyView] = Field(description="personal keys revoked (or that would be); service keys stay")

    @classmethod
    def of(cls, removal: Removal) -> RemovalView:
        return cls(user_id=removal.user_id, removed=removal.removed, keys=[KeyView.of(k) for k in removal.keys])


class BelongingView(Response):
    """A workspace the caller belongs to, and their role in it."""

    id: str = Field(description="ws_…")
    name: str
    plan: str
    status: str
    role: str

    @classmethod
    def of(cls, belonging: Belonging) -> BelongingView:
        ws = belonging.workspace
        return cls(id=ws.workspace_id, name=ws.name, plan=ws.plan, status=ws.status, role=belonging.role)


class BelongingPage(Page[BelongingView]):
    """`GET /v1/workspaces`: those the caller belongs to, by id."""

    @classmethod
    def of(cls, rows: list[Belonging]) -> BelongingPage:
        return cls(data=[BelongingView.of(b) for b in rows], next_cursor=None)


class InvitationView(Response):
    """An invitation: never its token (that travels only by email)."""

    id: str = Field(description="inv_…")
    email: str
    role: str
    status: str = Field(description="pending, accepted, revoked or expired")
    expires_at: str | None = Field(description="RFC 3339 UTC")
    created_at: str | None
    sent_count: int = Field(description="how many times the mail was sent (resends)")

    @classmethod
    def of(cls, inv: InvitationModel, now: datetime) -> InvitationView:
        expired = inv.status == "pending" and inv.expires_at <= now
        return cls(
            id=inv.invitation_id,
            email=inv.email,
            role=inv.role,
            status="expired" if expired else inv.status,
            expires_at=rfc3339(inv.expires_at),
            created_at=rfc3339(inv.created_at),
            sent_count=int(inv.sent_count or 1),
        )


class InvitationEnvelope(Response):
    """`POST /v1/invitations` (201) and resend: the invitation (the token went by email)."""

    invitation: InvitationView

    @classmethod
    def of(cls, inv: InvitationModel, now: datetime) -> InvitationEnvelope:
        return cls(invitation=InvitationView.of(inv, now))


class InvitationPage(Page[InvitationView]):
    """`GET /v1/invitations`: newest first."""

    @classmethod
    def of(cls, rows: list[InvitationModel], now: datetime) -> InvitationPage:
        return cls(data=[InvitationView.of(i, now) for i in rows], next_cursor=None)


class AcceptedView(Response):
    """`POST /v1/invitations/accept`: who joined which workspace as what; a new person's first
    API key secret (shown once), null for someone who already had an account."""

    user: UserView
    workspace: WorkspaceView
    role: str
    api_key: str | None = Field(description="sk_…: a new person's first key, shown once")

    @classmethod
    def of(cls, accepted: Accepted) -> AcceptedView:
        return cls(
            user=UserView.of(accepted.user),
            workspace=WorkspaceView.of(accepted.workspace),
            role=accepted.role,
            api_key=accepted.secret,
        )


class OutboxMailView(Response):
    """A mail the local stage "sent" (what SES would have delivered)."""

    to: str
    subject: str
    text: str
    created_at: str | None

    @classmethod
    def of(cls, mail: OutboxMailModel) -> OutboxMailView:
        return cls(to=mail.to, subject=mail.subject, text=mail.text, created_at=rfc3339(mail.created_at))


class OutboxPage(Response):
    """`GET /admin/api/outbox?to=`: newest first."""

    data: list[OutboxMailView]

    @classmethod
    def of(cls, mails: list[OutboxMailModel]) -> OutboxPage:
        return cls(data=[OutboxMailView.of(m) for m in mails])


# --- webhooks ---------------------------------------------------------------------------------


class WebhookEndpointView(Response):
    """A webhook endpoint (its secret is only ever in the answer to create or rotate-secret)."""

    id: str = Field(description="whe_…")
    url: str
    events: list[str] = Field(description="the event types it receives")
    description: str | None
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = Field(description="why it was disabled (410, failing for 5 days, a user)")
    previous_secret_expires_at: str | None = Field(
        description="after a rotation: until when the previous secret also signs (both signatures are sent)"
    )
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, e: EndpointRecord) -> WebhookEndpointView:
        return cls(
            id=e.id,
            url=e.url,
            events=e.events,
            description=e.description,
            status=cast("Literal['enabled', 'disabled']", e.status),
            disabled_reason=e.disabled_reason,
            previous_secret_expires_at=rfc3339(e.previous_secret_expires_at),
            created_at=rfc3339(e.created_at),
            updated_at=rfc3339(e.updated_at),
        )


class WebhookEndpointEnvelope(Response):
    """`{"endpoint": …}`"""

    endpoint: WebhookEndpointView

    @classmethod
    def of(cls, e: EndpointRecord) -> WebhookEndpointEnvelope:
        return cls(endpoint=WebhookEndpointView.of(e))


class WebhookEndpointCreated(Response):
    """Create and rotate-secret: the endpoint and its signing secret, shown this once."""

    endpoint: WebhookEndpointView
    secret: str | None = Field(description="whsec_… (Standard Webhooks); null in an idempotent replay")
    message: str | None = None

    @classmethod
    def of(cls, made: EndpointWithSecret) -> WebhookEndpointCreated:
        return cls(endpoint=WebhookEndpointView.of(made.endpoint), secret=made.secret)


class WebhookEndpointList(Page[WebhookEndpointView]):
    """`GET /v1/webhook-endpoints`: all of the workspace's endpoints (at most 50), newest first."""

    @classmethod
    def of(cls, endpoints: list[EndpointRecord]) -> WebhookEndpointList:
        return cls(data=[WebhookEndpointView.of(e) for e in endpoints], next_cursor=None)


class DeliveryAttemptView(Response):
    """One HTTP attempt of a delivery."""

    attempt: int = Field(description="1 for the first attempt; replays continue the count")
    at: str | None
    status_code: int | None = Field(description="the receiver's HTTP status; null when there was no answer")
    latency_ms: int
    response: str | None = Field(description="the first 1 KiB of the receiver's answer")
    error: str | None = Field(description="why there was no answer (timeout, refused address, …)")

    @classmethod
    def of(cls, a: dict[str, Any]) -> DeliveryAttemptView:
        from datetime import UTC
        from datetime import datetime as dt

        return cls(
            attempt=int(a.get("attempt", 0)),
            at=rfc3339(dt.fromtimestamp(int(a["at"]), UTC)) if a.get("at") is not None else None,
            status_code=a.get("status_code"),
            latency_ms=int(a.get("latency_ms", 0)),
            response=a.get("response"),
            error=a.get("error"),
        )


class WebhookDeliveryView(Response):
    """One event to one endpoint, with its attempts (newest last)."""

    id: str = Field(description="whd_…")
    endpoint_id: str
    event_id: str = Field(description="the `webhook-id` header: the same for every attempt")
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: list[DeliveryAttemptView]
    next_attempt_at: str | None = Field(description="when the next retry is due (pending only)")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, d: DeliveryRecord) -> WebhookDeliveryView:
        return cls(
            id=d.id,
            endpoint_id=d.endpoint_id,
            event_id=d.event_id,
            event_type=d.event_type,
            status=cast("Literal['pending', 'succeeded', 'failed']", d.status),
            attempts=[DeliveryAttemptView.of(a) for a in d.attempts],
            next_attempt_at=rfc3339(d.next_attempt_at),
            created_at=rfc3339(d.created_at),
            updated_at=rfc3339(d.updated_at),
        )


class WebhookDeliveryPage(Page[WebhookDeliveryView]):
    """`GET /v1/webhook-endpoints/{id}/deliveries`: newest first."""

    @classmethod
    def of(cls, deliveries: list[DeliveryRecord], next_cursor: str | None) -> WebhookDeliveryPage:
        return cls(data=[WebhookDeliveryView.of(d) for d in deliveries], next_cursor=next_cursor)


class WebhookDeliveryEnvelope(Response):
    """`{"delivery": …}`"""

    delivery: WebhookDeliveryView

    @classmethod
    def of(cls, d: DeliveryRecord) -> WebhookDeliveryEnvelope:
        return cls(delivery=WebhookDeliveryView.of(d))


# --- integrations -------------------------------------------------------------------------------


class ZapierSubscription(Response):
    """A Zapier REST hook subscription."""

    id: str = Field(description="whe_…: pass it to the unsubscribe call")

    @classmethod
    def of(cls, subscription_id: str) -> ZapierSubscription:
        return cls(id=subscription_id)


class ZapierSample(Response):
    """An event as a Zap receives it, with the `id` Zapier deduplicates on."""

    id: str
    type: str
    timestamp: str
    data: dict[str, Any]


class ZapierSamples(RootModel[list[ZapierSample]]):
    """`GET /v1/integrations/zapier/samples`: a JSON array, newest first (Zapier's polling shape)."""

    @classmethod
    def of(cls, samples: list[Any]) -> ZapierSamples:
        return cls([ZapierSample(id=s.id, type=s.type, timestamp=s.timestamp, data=s.data) for s in samples])


class IftttMeta(Response):
    id: str
    timestamp: int = Field(description="unix seconds")


class IftttTriggerItem(Response):
    """One trigger event: its ingredients and `meta` (IFTTT dedupes on meta.id)."""

    job_id: str
    prompt: str
    status: str
    image_ids: str = Field(description="comma-separated img_… ids")
    finished_at: str
    meta: IftttMeta


class IftttTriggerPage(Response):
    """A poll's answer, newest first, at most `limit` items."""

    data: list[IftttTriggerItem]

    @classmethod
    def of(cls, items: list[Any]) -> IftttTriggerPage:
        return cls(
            data=[
                IftttTriggerItem(
                    job_id=i.job_id,
                    prompt=i.prompt,
                    status=i.status,
                    image_ids=",".join(i.image_ids),
                    finished_at=i.finished_at,
                    meta=IftttMeta(id=i.meta_id, timestamp=i.meta_timestamp),
                )
                for i in items
            ]
        )


class IftttCreated(Response):
    id: str = Field(description="job_… of the job the action started")


class IftttActionResult(Response):
    """The action's answer: the id of what it made."""

    data: list[IftttCreated]

    @classmethod
    def of(cls, job_id: str) -> IftttActionResult:
        return cls(data=[IftttCreated(id=job_id)])


class IftttStatus(Response):
    """The service is up (IFTTT checks it with its service key)."""

    status: Literal["ok"] = "ok"


class IftttSetup(Response):
    """What IFTTT's endpoint tests use: a test user's token and sample field values."""

    data: dict[str, Any] = Field(description="{accessToken, samples: {triggers, actions}}")

    @classmethod
    def of(cls, setup: dict[str, Any]) -> IftttSetup:
        return cls(data=setup)


# --- admin: webhooks (issue 14) ----------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.webhooks.operators import OperatorEndpoint


class AdminWebhookEndpointView(WebhookEndpointView):
    """An endpoint of any kind as an operator sees it: the owner's view, its kind and failure streak."""

    kind: Literal["webhook", "zapier", "ifttt"] = Field(description="ifttt: IFTTT's Realtime API for one trigger")
    failing_since: str | None = Field(description="when the current run of failed attempts began (null: none)")
    trigger_identities: int = Field(description="kind ifttt: how many applets poll the trigger")

    @classmethod
    def of_operator(cls, o: OperatorEndpoint) -> AdminWebhookEndpointView:
        base = WebhookEndpointView.of(o.endpoint).model_dump()
        kind = cast("Literal['webhook', 'zapier', 'ifttt']", o.endpoint.kind)
        return cls(**base, kind=kind, failing_since=rfc3339(o.failing_since), trigger_identities=o.trigger_identities)


class AdminWebhookEndpointList(Page[AdminWebhookEndpointView]):
    """`GET /admin/api/workspaces/{id}/webhook-endpoints`: every endpoint of the workspace, newest first."""

    @classmethod
    def of(cls, endpoints: list[OperatorEndpoint]) -> AdminWebhookEndpointList:
        return cls(data=[AdminWebhookEndpointView.of_operator(e) for e in endpoints], next_cursor=None)


class AdminWebhookEndpointEnvelope(Response):
    """`{"endpoint": …}` after an operator disabled or enabled it."""

    endpoint: AdminWebhookEndpointView

    @classmethod
    def of(cls, e: OperatorEndpoint) -> AdminWebhookEndpointEnvelope:
        return cls(endpoint=AdminWebhookEndpointView.of_operator(e))


class AdminWebhookDeliveryList(Page[WebhookDeliveryView]):
    """`GET /admin/api/workspaces/{id}/webhook-deliveries`: the newest deliveries, failing ones
    first (failed, then retrying, then not yet tried, then delivered; each newest first)."""

    @classmethod
    def of(cls, deliveries: list[DeliveryRecord]) -> AdminWebhookDeliveryList:
        return cls(data=[WebhookDeliveryView.of(d) for d in deliveries], next_cursor=None)


# --- library exports and storage (issue 12) -----------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.library.exports import ExportRecord
    from chalicelib.library.usage import WorkspaceStorage


class ExportView(Response):
    """A zip of images built in object storage; `url` only while `status` is `ready`."""

    id: str = Field(description="exp_…")
    status: Literal["queued", "running", "ready", "failed", "expired"]
    folder_id: str | None = Field(description="the folder exported; null when image_ids were given")
    image_count: int = Field(description="images asked for")
    included: int | None = Field(description="images in the zip (some may have been trashed meanwhile)")
    bytes: int = Field(description="the originals' bytes when asked for")
    zip_bytes: int | None
    url: str | None = Field(description="the zip, presigned; a new one on every read while ready")
    url_expires_at: str | None
    expires_at: str | None = Field(description="when the zip is deleted (status then `expired`)")
    error: ErrorInfo | None = Field(description="why it failed: no_images, export_failed, timeout, queue_unavailable")
    user_id: str = Field(description="who asked for it")
    created_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, record: ExportRecord) -> ExportView:
        row = record.row
        error = dict(row.error) if row.error else None
        return cls(
            id=row.export_id,
            status=cast("Any", record.status),
            folder_id=row.folder_id,
            image_count=len(row.image_ids or []),
            included=int(row.included) if row.included is not None else None,
            bytes=int(row.bytes or 0),
            zip_bytes=int(row.zip_bytes) if row.zip_bytes is not None else None,
            url=record.url,
            url_expires_at=rfc3339(record.url_expires_at),
            expires_at=rfc3339(row.expires_at),
            error=ErrorInfo(code=str(error["code"]), message=str(error["message"])) if error else None,
            user_id=row.user_id,
            created_at=rfc3339(row.created_at),
            finished_at=rfc3339(row.finished_at),
        )


class ExportEnvelope(Response):
    export: ExportView

    @classmethod
    def of(cls, record: ExportRecord) -> ExportEnvelope:
        return cls(export=ExportView.of(record))


class ExportPage(Page[ExportView]):
    """The workspace's exports, newest first."""

    @classmethod
    def of(cls, records: list[ExportRecord], next_cursor: str | None) -> ExportPage:
        return cls(data=[ExportView.of(record) for record in records], next_cursor=next_cursor)


class WorkspaceStorageView(Response):
    """`GET /admin/api/workspaces/{id}/storage`: the library's counters (no scan behind it)."""

    workspace_id: str
    plan: str
    images: int = Field(description="images kept, live and trashed")
    image_bytes: int = Field(description="their originals' bytes")
    upload_bytes: int = Field(description="uploads' bytes, counted against the plan's storage")
    upload_quota_bytes: int
    pending_exports: int = Field(description="exports queued or running")
    max_pending_exports: int

    @classmethod
    def of(cls, storage: WorkspaceStorage) -> WorkspaceStorageView:
        return cls(**asdict(storage))


class WorkspaceStorageEnvelope(Response):
    storage: WorkspaceStorageView

    @classmethod
    def of(cls, storage: WorkspaceStorage) -> WorkspaceStorageEnvelope:
        return cls(storage=WorkspaceStorageView.of(storage))


# --- analytics ----------------------------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.analytics.service import CostLine, CostReport, Performance, Timing, UsagePoint, UsageSeries, Window


class AnalyticsPoint(Response):
    """One bucket (and group) of a workspace's finished jobs."""

    bucket: str = Field(description="the start of the hour or day, RFC 3339 UTC")
    key: str | None = Field(
        description="the group: a member's user id, a key id, a provider or provider/model; null without group_by, "
        "and for jobs made without a key (people signed in) under group_by=key"
    )
    jobs: int = Field(description="jobs that succeeded")
    failed: int = Field(description="jobs that failed")
    images: int
    credits: int = Field(description="credits charged")
    cost_micro_usd: int = Field(description="the providers' cost we recorded")
    input_tokens: int
    output_tokens: int

    @classmethod
    def of(cls, point: UsagePoint) -> AnalyticsPoint:
        return cls(bucket=str(iso(point.bucket_start)), key=point.key, **point.totals)


class AnalyticsUsage(Response):
    """`GET /v1/analytics/usage`: points oldest bucket first, then by key."""

    data: list[AnalyticsPoint]
    bucket: Literal["hour", "day"]
    group_by: Literal["member", "key", "provider", "model"] | None
    start: str = Field(description="`from` as read (RFC 3339 UTC): buckets starting from its bucket are counted")
    end: str = Field(description="`to` as read: buckets starting up to it are counted")

    @classmethod
    def of(cls, series: UsageSeries) -> AnalyticsUsage:
        return cls(
            data=[AnalyticsPoint.of(p) for p in series.points],
            bucket=cast("Literal['hour', 'day']", series.bucket),
            group_by=cast("Literal['member', 'key', 'provider', 'model'] | None", series.group_by),
            start=str(iso(series.window.start)),
            end=str(iso(series.window.end)),
        )


class TimingView(Response):
    """A timing's distribution: percentiles estimated from fixed histogram buckets."""

    count: int = Field(description="jobs with this timing")
    p50_ms: int | None
    p95_ms: int | None
    mean_ms: int | None

    @classmethod
    def of(cls, timing: Timing) -> TimingView:
        return cls(count=timing.count, p50_ms=timing.p50_ms, p95_ms=timing.p95_ms, mean_ms=timing.mean_ms)


class PerformanceRow(Response):
    """One provider and model: how many jobs finished, how many failed, how long they took."""

    provider: str
    model: str
    jobs: int = Field(description="jobs that finished: succeeded + failed")
    succeeded: int
    failed: int
    failure_rate: float = Field(description="failed / jobs (0 to 1, 4 decimals)")
    p50_ms: int | None = Field(description="job duration (admission to end), median")
    p95_ms: int | None = Field(description="job duration, 95th percentile")
    duration: TimingView
    queue_wait: TimingView
    provider_time: TimingView

    @classmethod
    def of(cls, row: Performance) -> PerformanceRow:
        return cls(
            provider=row.provider,
            model=row.model,
            jobs=row.jobs,
            succeeded=row.succeeded,
            failed=row.failed,
            failure_rate=row.failure_rate,
            p50_ms=row.duration.p50_ms,
            p95_ms=row.duration.p95_ms,
            duration=TimingView.of(row.duration),
            queue_wait=TimingView.of(row.queue_wait),
            provider_time=TimingView.of(row.provider_time),
        )


class AnalyticsPerformance(Response):
    """`GET /v1/analytics/performance`: per provider and model, by provider then model."""

    data: list[PerformanceRow]
    start: str = Field(description="`from` as read (RFC 3339 UTC): days from its day are counted")
    end: str = Field(description="`to` as read: days up to its day are counted")

    @classmethod
    def of(cls, rows: list[Performance], window: Window) -> AnalyticsPerformance:
        return cls(data=[PerformanceRow.of(r) for r in rows], start=str(iso(window.start)), end=str(iso(window.end)))


class CostRow(Response):
    """Credits charged and their list-price money (integers: micro-USD, and cents)."""

    key: str | None = Field(description="the member, key or provider/model (null: the total, or jobs made without a key)")
    jobs: int = Field(description="jobs that succeeded")
    failed: int
    credits: int
    list_price_micro_usd: int
    list_price_cents: int

    @classmethod
    def of(cls, line: CostLine) -> CostRow:
        return cls(
            key=line.key,
            jobs=line.jobs,
            failed=line.failed,
            credits=line.credits,
            list_price_micro_usd=line.list_price_micro_usd,
            list_price_cents=line.list_price_cents,
        )


class AnalyticsCosts(Response):
    """`GET /v1/analytics/costs`: the total and its breakdowns, most credits first."""

    start: str = Field(description="`from` as read (RFC 3339 UTC): days from its day are counted")
    end: str = Field(description="`to` as read: days up to its day are counted")
    currency: Literal["usd"] = "usd"
    credit_list_price_micro_usd: int
    total: CostRow
    by_member: list[CostRow]
    by_key: list[CostRow]
    by_model: list[CostRow]

    @classmethod
    def of(cls, report: CostReport, credit_value_micro_usd: int) -> AnalyticsCosts:
        return cls(
            start=str(iso(report.window.start)),
            end=str(iso(report.window.end)),
            credit_list_price_micro_usd=credit_value_micro_usd,
            total=CostRow.of(report.total),
            by_member=[CostRow.of(line) for line in report.by_member],
            by_key=[CostRow.of(line) for line in report.by_key],
            by_model=[CostRow.of(line) for line in report.by_model],
        )


# --- gallery ----------------------------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.gallery.collections import Collection, PublicCollection
    from chalicelib.gallery.feedback import Liked, Reported
    from chalicelib.gallery.listing import GalleryItem
    from chalicelib.gallery.moderation import Hidden, ReportCase
    from chalicelib.library.bulk import ItemResult as _ItemResult


_VISIBILITY: dict[str, Literal["private", "unlisted", "public"]] = {"unlisted": "unlisted", "public": "public"}


class CollectionView(Response):
    """A collection (album) of the workspace's images."""

    id: str = Field(description="col_…")
    name: str
    description: str | None
    visibility: Literal["private", "unlisted", "public"] = Field(
        description="private: the workspace; unlisted: anyone with the id; public: also listed in the gallery"
    )
    cover_image_id: str | None = Field(description="one of its items (the first added, unless set)")
    item_count: int = Field(description="items in it (trashed or hidden ones are counted, not shown publicly)")
    user_id: str = Field(description="the member who made it")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, collection: Collection) -> CollectionView:
        return cls(
            id=collection.id,
            name=collection.name,
            description=collection.description,
            visibility=_VISIBILITY.get(collection.visibility, "private"),
            cover_image_id=collection.cover_image_id,
            item_count=collection.item_count,
            user_id=collection.user_id,
            created_at=rfc3339(collection.created_at),
            updated_at=rfc3339(collection.updated_at),
        )


class CollectionEnvelope(Response):
    collection: CollectionView

    @classmethod
    def of(cls, collection: Collection) -> CollectionEnvelope:
        return cls(collection=CollectionView.of(collection))


class CollectionPage(Page[CollectionView]):
    """The workspace's collections, newest first."""

    @classmethod
    def of(cls, collections: list[Collection], next_cursor: str | None) -> CollectionPage:
        return cls(data=[CollectionView.of(c) for c in collections], next_cursor=next_cursor)


class CollectionItemsAdded(Response):
    """The collection after the add, and one result per id given, in order (an id already in it is
    ok; another workspace's or a missing image `not_found`; one in the trash `conflict`)."""

    collection: CollectionView
    results: list[BulkItemView]

    @classmethod
    def of(cls, collection: Collection, results: list[_ItemResult]) -> CollectionItemsAdded:
        return cls(collection=CollectionView.of(collection), results=BulkResults.of(results).results)


class CollectionItemPage(Page[LibraryImageView]):
    """A collection's images in their owner's order (trashed ones with `trashed_at`)."""

    @classmethod
    def of(cls, images: list[LibraryImage], next_cursor: str | None) -> CollectionItemPage:
        return cls(data=[LibraryImageView.of(image) for image in images], next_cursor=next_cursor)


class GalleryImageView(Response):
    """A published image, as anyone sees it: no workspace or member id, an opaque creator handle."""

    id: str = Field(description="img_…: what a like or a report names")
    title: str | None
    prompt: str | None
    tags: list[str]
    provider: str | None
    model: str | None
    width: int
    height: int
    content_type: str
    preview_url: str = Field(description="a reduced JPEG, presigned and expiring")
    url: str = Field(description="the image, presigned and expiring")
    creator: str = Field(description="cr_…: the same for every image of one workspace, and nothing else about it")
    likes: int = Field(description="likes as the `top` order last ranked them (at least half the current count)")
    published_at: str | None

    @classmethod
    def of(cls, item: GalleryItem) -> GalleryImageView:
        return cls(**{**item.__dict__, "published_at": rfc3339(item.published_at)})


class GalleryPage(Page[GalleryImageView]):
    """Published images: newest published first (`sort=new`) or most liked first (`sort=top`)."""

    @classmethod
    def of(cls, items: list[GalleryItem], next_cursor: str | None) -> GalleryPage:
        return cls(data=[GalleryImageView.of(item) for item in items], next_cursor=next_cursor)


class PublicCollectionSummary(Response):
    """An unlisted or public collection, as anyone sees it."""

    id: str
    name: str
    description: str | None
    visibility: Literal["unlisted", "public"]
    cover_image_id: str | None = Field(description="null when the cover is not shown publicly")
    item_count: int
    creator: str = Field(description="cr_…: an opaque handle of the workspace")
    created_at: str | None

    @classmethod
    def of(cls, collection: Collection, cover_shown: bool = True) -> PublicCollectionSummary:
        return cls(
            id=collection.id,
            name=collection.name,
            description=collection.description,
            visibility="public" if collection.visibility == "public" else "unlisted",
            cover_image_id=collection.cover_image_id if cover_shown else None,
            item_count=collection.item_count,
            creator=collection.creator,
            created_at=rfc3339(collection.created_at),
        )


class PublicCollectionPage(Page[PublicCollectionSummary]):
    """Public collections of every workspace, newest first (unlisted ones are never listed)."""

    @classmethod
    def of(cls, collections: list[Collection], next_cursor: str | None) -> PublicCollectionPage:
        return cls(data=[PublicCollectionSummary.of(c) for c in collections], next_cursor=next_cursor)


class PublicCollectionItemView(Response):
    id: str = Field(description="img_…")
    title: str | None
    prompt: str | None = Field(description="only when the image is published in the gallery")
    width: int
    height: int
    content_type: str = Field(description="of the preview")
    preview_url: str = Field(description="a reduced JPEG, presigned and expiring")


class PublicCollectionView(Response):
    """`GET /v1/gallery/collections/{id}`: the collection and a page of its items in order
    (nothing in the trash or hidden by a moderator; a page may hold fewer than `limit`)."""

    collection: PublicCollectionSummary
    data: list[PublicCollectionItemView]
    next_cursor: str | None

    @classmethod
    def of(cls, shown: PublicCollection, next_cursor: str | None) -> PublicCollectionView:
        return cls(
            collection=PublicCollectionSummary.of(shown.collection, shown.cover_shown),
            data=[PublicCollectionItemView(**item.__dict__) for item in shown.items],
            next_cursor=next_cursor,
        )


class ReportView(Response):
    image_id: str
    reason: str
    counted: bool = Field(description="false when this client had reported the image already (counted once)")


class ReportReceipt(Response):
    """A report was received (201, also when it repeats an earlier one from the same client)."""

    report: ReportView

    @classmethod
    def of(cls, reported: Reported) -> ReportReceipt:
        return cls(report=ReportView(image_id=reported.image_id, reason=reported.reason, counted=reported.counted))


class LikeResult(Response):
    image_id: str
    liked: bool = Field(description="false when this client had liked the image already (counted once)")
    likes: int = Field(description="the image's likes now")

    @classmethod
    def of(cls, liked: Liked) -> LikeResult:
        return cls(image_id=liked.image_id, liked=liked.liked, likes=liked.likes)


class ReportCaseView(Response):
    """Everything reported about one image, and what an admin decided."""

    image_id: str
    workspace_id: str
    status: Literal["open", "hidden", "dismissed"]
    reports: int = Field(description="distinct clients that reported it")
    reasons: list[str]
    last_note: str | None
    first_reported_at: str | None
    last_reported_at: str | None
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None
    title: str | None
    prompt: str | None
    preview_url: str | None = Field(description="the image (presigned), for the admin")

    @classmethod
    def of(cls, case: ReportCase) -> ReportCaseView:
        times = ("first_reported_at", "last_reported_at", "decided_at")
        return cls(**{**case.__dict__, **{name: rfc3339(getattr(case, name)) for name in times}})


class ReportCasePage(Page[ReportCaseView]):
    """Report cases of one status, the most recently reported first."""

    @classmethod
    def of(cls, cases: list[ReportCase], next_cursor: str | None) -> ReportCasePage:
        return cls(data=[ReportCaseView.of(case) for case in cases], next_cursor=next_cursor)


class HiddenImage(Response):
    """The image is hidden everywhere the public could see it (`changed` false: it was already)."""

    image_id: str
    workspace_id: str
    visibility: Literal["hidden"] = "hidden"
    changed: bool

    @classmethod
    def of(cls, hidden: Hidden) -> HiddenImage:
        return cls(image_id=hidden.image_id, workspace_id=hidden.workspace_id, changed=hidden.changed)


# --- marketplace (issue 16) ---------------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.marketplace.listings import HiddenListing
    from chalicelib.marketplace.listings import Reported as ListingReported
    from chalicelib.marketplace.records import Earnings, ListingRecord, PayoutRecord, PurchaseRecord


class ListingRating(Response):
    average: float | None = Field(description="mean stars of the buyers' ratings, one decimal (null before the first)")
    count: int = Field(description="how many buying workspaces rated it")


class ListingView(Response):
    """A template for sale: what anyone may see of it (never its prompt) and the caller's relation to it."""

    id: str = Field(description="lst_…")
    template_id: str
    name: str
    tags: list[str]
    price_credits: int = Field(description="what a buyer's wallet pays, in credits")
    status: Literal["active", "hidden", "withdrawn"] = Field(
        description="active: for sale; hidden: taken off sale by a moderator; withdrawn: by its seller"
    )
    sales: int = Field(description="purchases not refunded")
    rating: ListingRating
    creator: str = Field(description="an opaque handle of the selling workspace")
    created_at: str
    mine: bool = Field(description="the caller's workspace sells it")
    purchased: bool = Field(description="the caller's workspace owns it (may use the template in jobs)")
    my_stars: int | None = Field(description="the caller's workspace's rating, if it rated it")

    @classmethod
    def of(cls, r: ListingRecord) -> ListingView:
        return cls(
            id=r.listing_id, template_id=r.template_id, name=r.name, tags=list(r.tags), price_credits=r.price_credits,
            status=cast("Literal['active', 'hidden', 'withdrawn']", r.status), sales=r.sales,
            rating=ListingRating(average=r.rating_average, count=r.rating_count), creator=r.creator,
            created_at=str(iso(r.created_at)), mine=r.mine, purchased=r.purchased, my_stars=r.my_stars,
        )  # fmt: skip


class ListingEnvelope(Response):
    listing: ListingView

    @classmethod
    def of(cls, record: ListingRecord) -> ListingEnvelope:
        return cls(listing=ListingView.of(record))


class ListingPage(Page[ListingView]):
    """Listings for sale, newest or best selling first."""

    @classmethod
    def of(cls, records: list[ListingRecord], next_cursor: str | None) -> ListingPage:
        return cls(data=[ListingView.of(r) for r in records], next_cursor=next_cursor)


class PurchaseView(Response):
    listing_id: str
    template_id: str = Field(description="usable in POST /v1/jobs as template_id once purchased")
    workspace_id: str = Field(description="the buying workspace")
    price_credits: int
    fee_credits: int = Field(description="the platform's fee (marketplace/rules.py PLATFORM_FEE_BPS)")
    creator_credits: int = Field(description="what the creator earns: price less fee")
    status: Literal["purchased", "refunded"]
    purchased_at: str
    refunded_at: str | None


class PurchaseEnvelope(Response):
    purchase: PurchaseView

    @classmethod
    def of(cls, r: PurchaseRecord) -> PurchaseEnvelope:
        view = PurchaseView(
            listing_id=r.listing_id, template_id=r.template_id, workspace_id=r.buyer_workspace_id,
            price_credits=r.price_credits, fee_credits=r.fee_credits, creator_credits=r.creator_credits,
            status=cast("Literal['purchased', 'refunded']", r.status), purchased_at=str(iso(r.purchased_at)),
            refunded_at=rfc3339(r.refunded_at),
        )  # fmt: skip
        return cls(purchase=view)


class ListingReportView(Response):
    listing_id: str
    reason: str
    counted: bool = Field(description="false when this workspace had reported the listing already (counted once)")


class ListingReportReceipt(Response):
    report: ListingReportView

    @classmethod
    def of(cls, r: ListingReported) -> ListingReportReceipt:
        return cls(report=ListingReportView(listing_id=r.listing_id, reason=r.reason, counted=r.counted))


class ReportedListingView(ListingView):
    reports: int = Field(description="distinct workspaces that reported it")
    hidden_reason: str | None

    @classmethod
    def of(cls, r: ListingRecord) -> ReportedListingView:
        return cls(**ListingView.of(r).model_dump(), reports=r.reports, hidden_reason=r.hidden_reason)


class ReportedListingPage(Page[ReportedListingView]):
    """Reported listings still for sale, most recently reported first."""

    @classmethod
    def of(cls, records: list[ListingRecord], next_cursor: str | None) -> ReportedListingPage:
        return cls(data=[ReportedListingView.of(r) for r in records], next_cursor=next_cursor)


class HiddenListingView(Response):
    """The listing is off sale (`changed` false: it was already)."""

    listing: ReportedListingView
    changed: bool

    @classmethod
    def of(cls, hidden: HiddenListing) -> HiddenListingView:
        return cls(listing=ReportedListingView.of(hidden.listing), changed=hidden.changed)


class EarningsView(Response):
    """A creator workspace's earnings, in credits (marketplace/rules.py: 1 credit pays out 1 cent)."""

    pending: int = Field(description="sales still in their holding period")
    available: int = Field(description="may be paid out")
    paid_out: int = Field(description="paid out so far (payouts requested or done)")
    hold_days: int = Field(description="how long a sale stays pending")
    payout_account: str | None = Field(description="the Stripe Connect account (acct_…), once onboarding started")
    payouts_enabled: bool = Field(description="Stripe says the account may receive payouts")

    @classmethod
    def of(cls, e: Earnings) -> EarningsView:
        return cls(**e.__dict__)


class OnboardingUrl(Response):
    url: str = Field(description="Stripe Connect Express onboarding (one-time link)")

    @classmethod
    def of(cls, url: str) -> OnboardingUrl:
        return cls(url=url)


class PayoutView(Response):
    id: str = Field(description="po_…")
    amount: int = Field(description="credits taken from the available earnings")
    cents: int = Field(description="money transferred, in the currency's minor unit")
    currency: str
    status: Literal["requested", "paid", "failed"]
    transfer_id: str | None = Field(description="the Stripe transfer (tr_…)")
    created_at: str


class PayoutEnvelope(Response):
    payout: PayoutView

    @classmethod
    def of(cls, p: PayoutRecord) -> PayoutEnvelope:
        return cls(
            payout=PayoutView(
                id=p.payout_id, amount=p.amount, cents=p.cents, currency=p.currency,
                status=cast("Literal['requested', 'paid', 'failed']", p.status), transfer_id=p.transfer_id,
                created_at=str(iso(p.created_at)),
            )
        )  # fmt: skip


# --- custom model training (issue 16) --------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.training.service import CreatedTraining, TrainingRecord


class TrainedStyleView(Response):
    """What the local trainer learnt: the training set's mean colour, palette and tone curves."""

    mean_rgb: list[int] = Field(description="the set's mean colour, [r, g, b] 0-255")
    palette: list[list[int]] = Field(description="its five most used colours, most used first")
    curves: dict[str, list[int]] = Field(description="per channel (r, g, b): its levels at 17 quantiles 0, 1/16 ... 1")
    intensity_pct: int = Field(description="how strongly a job applies it (from `steps`)")


class TrainingView(Response):
    """A custom model training (API.md "Platform"); once `succeeded` its id is a model for POST /v1/jobs."""

    id: str = Field(description="trn_… (ULID: sorts by creation time); the model name once succeeded")
    name: str
    status: JobStatus
    base_model: str
    steps: int
    trainer: str = Field(description="local (Pillow style learner) or a hosted trainer (replicate)")
    image_ids: list[str] = Field(description="the training images")
    folder_id: str | None = Field(description="the folder they were taken from, when one was given")
    credits_reserved: int = Field(description="held at admission")
    credits_charged: int = Field(description="charged on success; 0 when it failed or was canceled (hold released)")
    model: str | None = Field(description="the model to name in POST /v1/jobs `model` (succeeded only)")
    style: TrainedStyleView | None = Field(description="the learnt parameters (local trainer, succeeded only)")
    error: ErrorInfo | None = Field(
        description="why it failed: not_enough_images, invalid_training_image, training_failed, timeout…"
    )
    user_id: str
    created_at: str | None
    started_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, record: TrainingRecord) -> TrainingView:
        row = record.row
        params = dict(row.params or {})
        succeeded = row.status == "succeeded"
        style = params.get("style") if succeeded else None
        error = dict(row.error) if row.error else None
        return cls(
            id=row.job_id,
            name=str(params.get("name") or row.prompt),
            status=cast("JobStatus", row.status),
            base_model=str(params.get("base_model") or ""),
            steps=int(params.get("steps") or 0),
            trainer=str(params.get("trainer") or "local"),
            image_ids=[str(i) for i in params.get("image_ids") or []],
            folder_id=params.get("folder_id"),
            credits_reserved=int(row.credits_reserved or 0),
            credits_charged=int((row.usage or {}).get("credits_charged", 0)),
            model=row.job_id if succeeded else None,
            style=TrainedStyleView(**{k: style[k] for k in ("mean_rgb", "palette", "curves", "intensity_pct")})
            if style
            else None,
            error=ErrorInfo(code=str(error["code"]), message=str(error["message"])) if error else None,
            user_id=row.user_id,
            created_at=rfc3339(row.created_at),
            started_at=rfc3339(row.started_at),
            finished_at=rfc3339(row.finished_at),
        )


class TrainingEnvelope(Response):
    training: TrainingView

    @classmethod
    def of(cls, record: TrainingRecord) -> TrainingEnvelope:
        return cls(training=TrainingView.of(record))

    @classmethod
    def created(cls, created: CreatedTraining) -> TrainingEnvelope:
        return cls.of(created.record)


class TrainingPage(Page[TrainingView]):
    """The workspace's trainings, newest first."""

    @classmethod
    def of(cls, records: list[TrainingRecord], next_cursor: str | None) -> TrainingPage:
        return cls(data=[TrainingView.of(record) for record in records], next_cursor=next_cursor)


# --- mobile: devices, notification settings, offline sync (issue 16) ---------------------------

if TYPE_CHECKING:
    from chalicelib.mobile.devices import Device, Registered
    from chalicelib.mobile.notifications import PushSettings
    from chalicelib.mobile.sync import Pulled
    from chalicelib.mobile.sync_push import Applied


PushPlatform = Literal["ios", "android", "expo"]


class DeviceView(Response):
    """A device that gets push notifications; its token is never shown in full."""

    id: str = Field(description="dev_…")
    platform: PushPlatform
    token_hint: str = Field(description="the token's last 6 characters")
    created_at: str | None

    @classmethod
    def of(cls, device: Device) -> DeviceView:
        return cls(
            id=device.id,
            platform=cast("PushPlatform", device.platform),
            token_hint=device.token_hint,
            created_at=rfc3339(device.created_at),
        )


class DeviceEnvelope(Response):
    """`created` is false when the token was registered already: the same device, unchanged."""

    device: DeviceView
    created: bool

    @classmethod
    def of(cls, registered: Registered) -> DeviceEnvelope:
        return cls(device=DeviceView.of(registered.device), created=registered.created)


class DevicePage(Page[DeviceView]):
    """The caller's devices in this workspace, oldest first."""

    @classmethod
    def of(cls, devices: list[Device], next_cursor: str | None) -> DevicePage:
        return cls(data=[DeviceView.of(device) for device in devices], next_cursor=next_cursor)


class PushSettingsView(Response):
    """Which of the caller's jobs push to their devices when they end (both on by default)."""

    job_succeeded: bool
    job_failed: bool

    @classmethod
    def of(cls, settings: PushSettings) -> PushSettingsView:
        return cls(job_succeeded=settings.job_succeeded, job_failed=settings.job_failed)


class SyncTableChanges(Response):
    """WatermelonDB's changes of one table: whole records created or updated, ids deleted."""

    created: list[dict[str, Any]]
    updated: list[dict[str, Any]]
    deleted: list[str]


class SyncPullView(Response):
    """GET /v1/sync: the changes since `last_pulled_at`; keep `timestamp` for the next pull."""

    changes: dict[str, SyncTableChanges] = Field(description="images, folders, tags, templates")
    timestamp: int = Field(description="epoch ms: the next pull's last_pulled_at")
    has_more: bool = Field(description="true: pull again at once with this timestamp (a page was full)")

    @classmethod
    def of(cls, pulled: Pulled) -> SyncPullView:
        changes = {table: SyncTableChanges(**lists) for table, lists in pulled.changes.items()}
        return cls(changes=changes, timestamp=pulled.timestamp, has_more=pulled.has_more)


class SyncApplied(Response):
    created: int
    updated: int
    deleted: int


class SyncPushResult(Response):
    """POST /v1/sync: every pushed change was applied."""

    ok: bool = True
    applied: SyncApplied

    @classmethod
    def of(cls, applied: Applied) -> SyncPushResult:
        return cls(applied=SyncApplied(created=applied.created, updated=applied.updated, deleted=applied.deleted))


# --- marketplace: a buyer's purchases (issue 16) --------------------------------------------------


class PurchasePage(Page[PurchaseView]):
    """The workspace's purchases, newest first (refunded ones too, with `status: refunded`)."""

    @classmethod
    def of(cls, records: list[PurchaseRecord], next_cursor: str | None) -> PurchasePage:
        return cls(data=[PurchaseEnvelope.of(r).purchase for r in records], next_cursor=next_cursor)
