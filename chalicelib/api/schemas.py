"""Request bodies as pydantic models (strict: "4" is not 4, unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.accounting.plans import PLANS
from chalicelib.accounting.prices import KINDS, SIZES

Kind = Literal["generate", "vary", "upscale", "edit", "style_transfer"]
ProviderName = Literal["local", "gemini", "openai"]
Size = Literal["256x256", "512x512", "1024x1024", "1024x1536", "1536x1024", "2048x2048"]
assert set(Kind.__args__) == set(KINDS) and set(Size.__args__) <= set(SIZES)  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=False)


class CropOp(Strict):
    op: Literal["crop"]
    left: int = Field(ge=0, le=8192)
    top: int = Field(ge=0, le=8192)
    right: int = Field(ge=1, le=8192)
    bottom: int = Field(ge=1, le=8192)


class ResizeOp(Strict):
    op: Literal["resize"]
    width: int = Field(ge=1, le=4096)
    height: int = Field(ge=1, le=4096)


class RotateOp(Strict):
    op: Literal["rotate"]
    degrees: int = Field(ge=-360, le=360)


class FormatOp(Strict):
    op: Literal["format"]
    to: Literal["png", "jpeg", "webp"]


Operation = Annotated[CropOp | ResizeOp | RotateOp | FormatOp, Field(discriminator="op")]


class JobCreate(Strict):
    prompt: str = Field(min_length=1, max_length=4000)
    kind: Kind = "generate"
    provider: ProviderName | None = None
    model: str | None = Field(default=None, min_length=1, max_length=100)
    n: int | None = Field(default=None, ge=1, le=4)
    size: Size | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    source_image_id: str | None = Field(default=None, min_length=1, max_length=64)
    mask_image_id: str | None = Field(default=None, min_length=1, max_length=64)
    style_image_id: str | None = Field(default=None, min_length=1, max_length=64)
    strength: Literal["subtle", "strong"] | None = None
    scale: Literal[2, 4] | None = None
    template_id: str | None = Field(default=None, min_length=1, max_length=64)
    variables: dict[str, str] | None = None
    operations: list[Operation] | None = Field(default=None, min_length=1, max_length=10)

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class Notifications(Strict):
    email: bool = True
    job_failed: bool = True
    low_balance: bool = True


class UserSettings(Strict):
    default_provider: ProviderName | None = None
    default_size: Size | None = None
    default_n: int | None = Field(default=None, ge=1, le=4)
    notifications: Notifications | None = None


class MePatch(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    settings: UserSettings | None = None

    def settings_given(self) -> dict[str, Any] | None:
        """The settings the caller sent (absent ones are not reset), or None when none were."""
        return self.settings.model_dump(exclude_none=True) if self.settings is not None else None


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)


class WorkspaceCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    owner_email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    plan: str = "free"

    @field_validator("plan")
    @classmethod
    def _known_plan(cls, value: str) -> str:
        if value not in PLANS:
            raise ValueError(f"unknown plan; one of {', '.join(PLANS)}")
        return value


class CreditAdjust(Strict):
    amount: int = Field(ge=-1_000_000_000, le=1_000_000_000)
    reason: str = Field(min_length=1, max_length=500)

    @field_validator("amount")
    @classmethod
    def _non_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be 0")
        return value


class LimitsPut(Strict):
    """Per-workspace overrides (replaces the previous ones). `requests_per_minute` is the
    shorthand of API.md: it sets the user, workspace and key limits that are not given."""

    requests_per_minute: int | None = Field(default=None, ge=0, le=1_000_000)
    requests_per_minute_user: int | None = Field(default=None, ge=0, le=1_000_000)
    requests_per_minute_workspace: int | None = Field(default=None, ge=0, le=1_000_000)
    requests_per_minute_key: int | None = Field(default=None, ge=0, le=1_000_000)
    tokens_per_day: int | None = Field(default=None, ge=0, le=10**12)
    credits_per_day: int | None = Field(default=None, ge=0, le=10**12)
    max_concurrent_jobs: int | None = Field(default=None, ge=0, le=10_000)
    max_queued_jobs: int | None = Field(default=None, ge=0, le=100_000)
    providers: list[ProviderName] | None = None
    reason: str = Field(default="", max_length=500)

    def overrides(self) -> dict[str, Any]:
        """The overrides to store: the limits given, with the shorthand spread over the three
        rates it stands for (a rate given by its own name wins)."""
        given = self.model_dump(exclude_none=True, exclude={"reason", "requests_per_minute"})
        if self.requests_per_minute is not None:
            for scope in ("user", "workspace", "key"):
                given.setdefault(f"requests_per_minute_{scope}", self.requests_per_minute)
        return given


class BanBody(Strict):
    reason: str = Field(min_length=1, max_length=500)


class OptionalReason(Strict):
    reason: str = Field(default="", max_length=500)


class CheckoutCreate(Strict):
    """POST /v1/billing/checkout: a credit pack (`pack`), or a plan (`plan`, `interval`)."""

    kind: Literal["credit_pack", "subscription"]
    pack: str | None = Field(default=None, min_length=1, max_length=40, description="a pack's lookup key, e.g. pack_1000")
    plan: Literal["starter", "pro", "enterprise"] | None = None
    interval: Literal["month", "year"] | None = Field(default=None, description="default month")

    @model_validator(mode="after")
    def _consistent(self) -> CheckoutCreate:
        if self.kind == "credit_pack" and (not self.pack or self.plan or self.interval):
            raise ValueError("a credit_pack checkout takes `pack` only")
        if self.kind == "subscription" and (not self.plan or self.pack):
            raise ValueError("a subscription checkout takes `plan` and optionally `interval`")
        return self


class AutoTopupPut(Strict):
    """PUT /v1/billing/auto-topup: buy `amount` credits when `available` drops below `threshold`."""

    enabled: bool
    threshold: int = Field(ge=0, le=10_000_000, description="credits")
    amount: int = Field(ge=1, le=1_000_000, description="credits per top-up; at most monthly_cap when enabled")
    monthly_cap: int = Field(ge=1, le=100_000_000, description="credits per calendar month")


class BillingProviderPut(Strict):
    """PUT /admin/api/workspaces/{id}/billing: self-serve (`stripe`) or invoiced (`internal`)."""

    provider: Literal["stripe", "internal"]
    reason: str = Field(min_length=1, max_length=500)


# --- webhooks ---------------------------------------------------------------------------------

EventType = Literal[
    "job.succeeded",
    "job.failed",
    "job.canceled",
    "balance.low",
    "topup.succeeded",
    "topup.failed",
    "export.ready",
    "training.succeeded",
    "training.failed",
]
WebhookUrl = Annotated[str, Field(min_length=8, max_length=2048, description="https:// (http:// only on the local stages)")]


class WebhookEndpointCreate(Strict):
    """POST /v1/webhook-endpoints: where to send which events."""

    url: WebhookUrl
    events: list[EventType] = Field(min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=500)


class WebhookEndpointPatch(Strict):
    """PATCH /v1/webhook-endpoints/{id}: any of the fields; `status` enables or disables it."""

    url: WebhookUrl | None = None
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    status: Literal["enabled", "disabled"] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the caller gave (a null `description` clears it; other nulls are refused)."""
        given = self.model_dump(exclude_unset=True)
        for name in ("url", "events", "status"):
            if name in given and given[name] is None:
                raise ValueError(f"{name} must not be null")
        return given

    @model_validator(mode="after")
    def _not_empty(self) -> WebhookEndpointPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, events, description, status")
        self.changes()
        return self


class ZapierSubscribe(Strict):
    """POST /v1/integrations/zapier/subscriptions: Zapier's REST hook subscribe call."""

    target_url: WebhookUrl
    event: EventType


class IftttTrigger(BaseModel):
    """POST /ifttt/v1/triggers/{slug}: IFTTT's poll (it may send fields of its own: kept open)."""

    model_config = ConfigDict(strict=True, extra="allow")

    trigger_identity: str | None = Field(default=None, max_length=200)
    triggerFields: dict[str, Any] = Field(default_factory=dict)  # IFTTT names its fields in camelCase
    limit: int = Field(default=50, ge=0, le=1000)


class IftttActionFields(Strict):
    prompt: str = Field(min_length=1, max_length=4000)


class IftttAction(BaseModel):
    """POST /ifttt/v1/actions/{slug}: IFTTT runs the action with the user's fields."""

    model_config = ConfigDict(strict=True, extra="allow")

    actionFields: IftttActionFields  # IFTTT names its fields in camelCase
