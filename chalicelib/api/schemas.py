"""Request bodies as pydantic models (strict: "4" is not 4, unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from chalicelib.accounting.plans import PLANS
from chalicelib.accounting.prices import KINDS, SIZES
from chalicelib.tenancy.permissions import SCOPES

Kind = Literal["generate", "vary", "upscale", "edit", "style_transfer"]
ProviderName = Literal["local", "gemini", "openai"]
Scope = Literal[
    "jobs:read", "jobs:write", "library:read", "library:write", "billing:read", "billing:write", "webhooks:write", "members:write"
]
Size = Literal["256x256", "512x512", "1024x1024", "1024x1536", "1536x1024", "2048x2048"]
assert set(Kind.__args__) == set(KINDS) and set(Size.__args__) <= set(SIZES)  # type: ignore[attr-defined]
assert set(Scope.__args__) == set(SCOPES)  # type: ignore[attr-defined]


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


_PROMPT_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 4000, "description": "required unless template_id is given"}


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class JobCreate(Strict):
    # Optional (a template can make it), never null: the documented schema is a plain string.
    prompt: Annotated[str | None, WithJsonSchema(_PROMPT_SCHEMA)] = Field(
        default=None, min_length=1, max_length=4000, json_schema_extra=_without_default
    )
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
    variables: Variables | None = None
    operations: list[Operation] | None = Field(default=None, min_length=1, max_length=10)

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is None:  # only an explicit null gets here (validators skip the default)
            raise ValueError("must be a string; leave it out when template_id is given")
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
    """`POST /v1/keys` and `POST /v1/service-keys`: scopes never above the creator's (tenancy/keys.py)."""

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] | None = Field(default=None, max_length=len(SCOPES))
    credits_per_day: int | None = Field(default=None, ge=1, le=10**12)
    credits_per_month: int | None = Field(default=None, ge=1, le=10**12)


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


# --- templates --------------------------------------------------------------------------------

MAX_VALUE_CHARS = 4000
MAX_VALUE_INT = 10**15


def _scalar(value: Any) -> Any:
    """A variable's value: a string or an integer (never a boolean, a float, null or a container).
    Its bounds are the template's (templates.rules); this only keeps the JSON sane."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a string or an integer")
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise ValueError(f"must be at most {MAX_VALUE_CHARS} characters")
    if isinstance(value, int) and abs(value) > MAX_VALUE_INT:
        raise ValueError("is out of range")
    return value


def _scalar_or_none(value: Any) -> Any:
    return None if value is None else _scalar(value)


# `Any` + a validator, not `str | int`: an error then names `variables.<name>` (a union would add
# the member's name to the location).
VariableValue = Annotated[Any, AfterValidator(_scalar), WithJsonSchema({"type": ["string", "integer"]})]
Variables = Annotated[dict[str, VariableValue], Field(max_length=20, description="a value per template variable")]
TemplateTag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="lower-case words and dashes")]
Visibility = Literal["private", "workspace", "public"]


class VariableSpec(Strict):
    """A variable's declaration; which attributes apply depends on `type` (templates/rules.py)."""

    type: Literal["string", "enum", "integer"]
    enum: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, min_length=1, max_length=50)
    default: Annotated[Any, AfterValidator(_scalar_or_none), WithJsonSchema({"type": ["string", "integer", "null"]})] = None
    max_length: int | None = Field(default=None, ge=1, le=1000, description="string: default 200")
    min: int | None = Field(default=None, ge=-(10**9), le=10**9, description="integer")
    max: int | None = Field(default=None, ge=-(10**9), le=10**9, description="integer")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _unique_tags(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("tags must be unique")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_text)]
TemplatePrompt = Annotated[
    str,
    Field(min_length=1, max_length=4000, description="with {variable} slots; {{ and }} are literal braces"),
    AfterValidator(_text),
]
Tags = Annotated[list[TemplateTag], Field(max_length=10), AfterValidator(_unique_tags)]


class TemplateCreate(Strict):
    """POST /v1/templates."""

    name: Name
    prompt: TemplatePrompt
    variables: dict[str, VariableSpec] = Field(default_factory=dict, max_length=20)
    provider: ProviderName | None = None
    model: str | None = Field(default=None, min_length=1, max_length=100, description="needs provider")
    size: Size | None = None
    n: int | None = Field(default=None, ge=1, le=4)
    tags: Tags = Field(default_factory=list)
    visibility: Visibility


class TemplatePatch(Strict):
    """PATCH /v1/templates/{id}: the fields given replace the current ones (a new version);
    null clears a pin (provider, model, size, n). name, prompt, variables, tags and visibility
    cannot be null."""

    name: Name | None = None
    prompt: TemplatePrompt | None = None
    variables: dict[str, VariableSpec] | None = Field(default=None, max_length=20)
    provider: ProviderName | None = None
    model: str | None = Field(default=None, min_length=1, max_length=100)
    size: Size | None = None
    n: int | None = Field(default=None, ge=1, le=4)
    tags: Tags | None = None
    visibility: Visibility | None = None

    @field_validator("name", "prompt", "variables", "tags", "visibility")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # absent fields keep their default without this check; an explicit null is refused
            raise ValueError("must not be null (leave the field out to keep it)")
        return value

    @model_validator(mode="after")
    def _something(self) -> TemplatePatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one field")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, variables as plain declarations (absent attributes left out)."""
        given = self.model_dump(include=self.model_fields_set)
        if "variables" in given:
            given["variables"] = {name: spec.model_dump(exclude_none=True) for name, spec in (self.variables or {}).items()}
        return given


class TemplateRender(Strict):
    """POST /v1/templates/{id}/render."""

    variables: Variables = Field(default_factory=dict)


# --- library ----------------------------------------------------------------------------------

LibraryId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
TagText = Annotated[str, Field(min_length=1, max_length=40)]


class ImagePatch(Strict):
    """PATCH /v1/images/{id}: any of title (null clears), folder_id (null: the root), tags (replaces)."""

    title: str | None = Field(default=None, max_length=200)
    folder_id: LibraryId | None = None
    tags: list[TagText] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _something(self) -> ImagePatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of title, folder_id, tags")
        if "tags" in self.model_fields_set and self.tags is None:
            raise ValueError("tags must be a list (use [] to clear them)")
        return self


class FolderCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    parent_id: LibraryId | None = None


class FolderOrder(Strict):
    """PUT /v1/folders/{id}/order: place these images, in this order, right after `after`
    (absent or null: at the top of the folder); the others keep their places."""

    image_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=500)
    after: LibraryId | None = None


class FolderPatch(Strict):
    """PATCH /v1/folders/{id}: rename (`name`) and/or move (`parent_id`, null: the root)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    parent_id: LibraryId | None = None

    @model_validator(mode="after")
    def _something(self) -> FolderPatch:
        if not self.model_fields_set:
            raise ValueError("give name and/or parent_id")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name may not be null")
        return self


class BulkImages(Strict):
    """POST /v1/images/bulk: one action on up to 500 images; each id succeeds or fails alone."""

    action: Literal["move", "tag", "untag", "trash", "restore", "delete_forever"]
    image_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=500)
    folder_id: LibraryId | None = None
    tags: list[TagText] | None = Field(default=None, min_length=1, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> BulkImages:
        if self.action != "move" and "folder_id" in self.model_fields_set:
            raise ValueError("folder_id is only for move")
        if self.action in ("tag", "untag") and not self.tags:
            raise ValueError("tags are required for tag and untag")
        if self.action not in ("tag", "untag") and self.tags is not None:
            raise ValueError("tags are only for tag and untag")
        return self


class UploadCreate(Strict):
    """POST /v1/uploads: what will be uploaded (the presigned POST enforces type and size)."""

    filename: str = Field(min_length=1, max_length=200)
    content_type: Literal["image/png", "image/jpeg", "image/webp"]
    bytes: int = Field(ge=1, le=25 * 1024 * 1024)

    @field_validator("filename")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip() or not value.isprintable():
            raise ValueError("must be printable and not blank")
        return value


class ShareTarget(Strict):
    type: Literal["image", "folder", "collection"]
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")


class ShareCreate(Strict):
    """POST /v1/shares: a link to an image or a folder; `show_prompt` lets it show prompts."""

    target: ShareTarget
    permission: Literal["view", "download"]
    expires_at: str | None = Field(default=None, max_length=40, description="RFC 3339, in the future")
    show_prompt: bool = False


# --- teams ---------------------------------------------------------------------------------

Role = Literal["owner", "admin", "member", "viewer"]


class MemberPatch(Strict):
    """PATCH /v1/members/{user_id}: a role (an owner's to give or take "owner") and/or a monthly
    spend cap in credits (null removes it)."""

    role: Role | None = None
    credits_per_month: int | None = Field(default=None, ge=1, le=10**12)

    def cap_given(self) -> bool:
        return "credits_per_month" in self.model_fields_set


class InvitationCreate(Strict):
    """POST /v1/invitations: whom to invite (by email) and as what (owners are made by transfer)."""

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: Literal["admin", "member", "viewer"]


class InvitationAccept(Strict):
    """POST /v1/invitations/accept: the token from the invitation mail."""

    token: str = Field(min_length=20, max_length=200)


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


# --- admin: webhooks (issue 14) ----------------------------------------------------------------


class AdminReason(Strict):
    """An operator's change that needs its reason (it goes into the audit row)."""

    reason: str = Field(min_length=1, max_length=500)


# --- library exports (issue 12) -----------------------------------------------------------------


class ExportCreate(Strict):
    """POST /v1/exports: exactly one of `image_ids` (1-500 distinct ids of live images) or
    `folder_id` (the images directly in that folder)."""

    image_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, min_length=1, max_length=500)
    folder_id: LibraryId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ExportCreate:
        if (self.image_ids is None) == (self.folder_id is None):
            raise ValueError("give exactly one of image_ids or folder_id")
        return self


# --- gallery ----------------------------------------------------------------------------------

CollectionVisibility = Literal["private", "unlisted", "public"]
ImageIdText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
ReportReason = Literal["spam", "sexual", "violence", "hate", "harassment", "self_harm", "illegal", "copyright", "other"]
ModerationReason = Annotated[str, Field(min_length=1, max_length=500)]


class CollectionCreate(Strict):
    """POST /v1/collections: a name, an optional description and who may see it."""

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    visibility: CollectionVisibility


class CollectionPatch(Strict):
    """PATCH /v1/collections/{id}: any of name, description (null clears), visibility and
    cover_image_id (an item of the collection; null clears)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    visibility: CollectionVisibility | None = None
    cover_image_id: ImageIdText | None = None

    @model_validator(mode="after")
    def _something(self) -> CollectionPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, description, visibility, cover_image_id")
        for name in ("name", "visibility"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class CollectionItems(Strict):
    """POST /v1/collections/{id}/items: up to 100 of the workspace's images to add (each once)."""

    image_ids: list[ImageIdText] = Field(min_length=1, max_length=100)


class CollectionOrder(Strict):
    """PUT /v1/collections/{id}/order: every item of the collection, each once, in the new order."""

    image_ids: list[ImageIdText] = Field(max_length=1000)


class ReportCreate(Strict):
    """POST /v1/gallery/reports: an image of the gallery, a reason from the list, an optional note."""

    image_id: ImageIdText
    reason: ReportReason
    note: str | None = Field(default=None, max_length=500)


class HideImage(Strict):
    """POST /admin/api/images/{id}/hide: why (kept in the audit log); the image's workspace when it
    was never published nor reported."""

    reason: ModerationReason
    workspace_id: ImageIdText | None = None


class DismissReport(Strict):
    """POST /admin/api/reports/{image_id}/dismiss: why the reports are unfounded (audited)."""

    reason: ModerationReason


def _reasons_agree() -> None:
    from chalicelib.gallery.rules import REASONS

    assert set(ReportReason.__args__) == set(REASONS)  # type: ignore[attr-defined]


_reasons_agree()


# --- marketplace (issue 16) ---------------------------------------------------------------------

MarketId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]


class ListingCreate(Strict):
    """POST /v1/marketplace/listings: one of the workspace's public templates and its price in
    credits (an integer, 1-100,000; marketplace/rules.py)."""

    template_id: MarketId
    price_credits: int = Field(ge=1, le=100_000)


class ListingRating(Strict):
    """POST /v1/marketplace/listings/{id}/ratings: a buyer's stars (rating again replaces them)."""

    stars: int = Field(ge=1, le=5)


class ListingReport(Strict):
    """POST /v1/marketplace/listings/{id}/reports: why (the gallery's reasons) and an optional note."""

    reason: ReportReason
    note: str | None = Field(default=None, max_length=500)


class PayoutCreate(Strict):
    """POST /v1/payouts: credits of available earnings to pay out (1,000-10,000,000)."""

    amount: int = Field(ge=1_000, le=10_000_000)


class HideListing(Strict):
    """POST /admin/api/marketplace/listings/{id}/hide: why (kept in the audit log)."""

    reason: ModerationReason


class RefundPurchase(Strict):
    """POST /admin/api/marketplace/refunds: which workspace's purchase of which listing, and why."""

    listing_id: MarketId
    workspace_id: MarketId
    reason: ModerationReason


def _marketplace_bounds_agree() -> None:
    from chalicelib.marketplace import rules

    price = ListingCreate.model_fields["price_credits"].metadata
    amount = PayoutCreate.model_fields["amount"].metadata
    assert [m.ge for m in price if hasattr(m, "ge")] == [rules.MIN_PRICE_CREDITS]
    assert [m.le for m in price if hasattr(m, "le")] == [rules.MAX_PRICE_CREDITS]
    assert [m.ge for m in amount if hasattr(m, "ge")] == [rules.MIN_PAYOUT_CREDITS]
    assert [m.le for m in amount if hasattr(m, "le")] == [rules.MAX_PAYOUT_CREDITS]


_marketplace_bounds_agree()
# --- custom model training (issue 16) --------------------------------------------------------------


class TrainingCreate(Strict):
    """POST /v1/trainings: a name and exactly one of `upload_ids` (5-50 distinct image ids of the
    workspace's library) or `folder_id` (the images directly in that folder, 5-50)."""

    name: str = Field(min_length=1, max_length=100)
    upload_ids: list[ImageIdText] | None = Field(default=None, max_length=50)
    folder_id: ImageIdText | None = None
    base_model: str | None = Field(default=None, min_length=1, max_length=200)
    steps: int | None = Field(default=None, ge=100, le=4000)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


# --- mobile: devices, notification settings, offline sync (issue 16) ---------------------------

PushPlatform = Literal["ios", "android", "expo"]


class DeviceCreate(Strict):
    """POST /v1/devices: a push token and its platform (the token's shape is checked per platform)."""

    platform: PushPlatform
    token: str = Field(min_length=1, max_length=4096)


class PushSettingsPut(Strict):
    """PUT /v1/me/notifications: the pushes wanted when one's jobs end (fields left out keep their value)."""

    job_succeeded: bool | None = None
    job_failed: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> PushSettingsPut:
        if not self.model_fields_set:
            raise ValueError("give job_succeeded and/or job_failed")
        if any(getattr(self, name) is None for name in self.model_fields_set):
            raise ValueError("job_succeeded and job_failed are true or false, never null")
        return self


def _json_column(value: Any) -> Any:
    """WatermelonDB keeps lists and objects in `@json` text columns: a JSON string is read as its value."""
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("must be JSON (a @json column) or the value itself") from None
    return value


def _json_schema_or_text(kind: str) -> dict[str, Any]:
    """The column's JSON type, or the same as JSON text (WatermelonDB stores it so), or null.
    An array names its items: generated clients refuse an array without them."""
    native: dict[str, Any] = {"type": kind, "items": {"type": "string"}} if kind == "array" else {"type": kind}
    return {"anyOf": [native, {"type": "string", "description": "the same as JSON text"}, {"type": "null"}]}


SyncId = Annotated[str, Field(min_length=1, max_length=64)]
SyncTime = Annotated[int, Field(ge=0, le=4_102_444_800_000, description="epoch milliseconds")]
ImageTagsColumn = Annotated[
    Annotated[list[TagText], Field(max_length=20)] | None,
    BeforeValidator(_json_column),
    WithJsonSchema(_json_schema_or_text("array")),
]
TemplateTagsColumn = Annotated[Tags | None, BeforeValidator(_json_column), WithJsonSchema(_json_schema_or_text("array"))]
VariablesColumn = Annotated[
    Annotated[dict[str, VariableSpec], Field(max_length=20)] | None,
    BeforeValidator(_json_column),
    WithJsonSchema(_json_schema_or_text("object")),
]


class SyncRecord(BaseModel):
    """A record as WatermelonDB pushes it: every column of the local table plus `_status` and
    `_changed`; the columns sync may write are checked, the others are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")

    id: SyncId
    server_changed_at: SyncTime | None = Field(default=None, description="as pulled, unchanged (conflict detection)")

    def writable(self) -> dict[str, Any]:
        """The writable columns the client sent; null in a column that cannot be null means unchanged."""
        given = self.model_fields_set - {"id", "server_changed_at"}
        nullable: frozenset[str] = getattr(self, "NULLABLE", frozenset())
        return {name: getattr(self, name) for name in given if getattr(self, name) is not None or name in nullable}


class ImageSyncRecord(SyncRecord):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"title", "folder_id"})
    title: str | None = Field(default=None, max_length=200)
    tags: ImageTagsColumn = None
    folder_id: LibraryId | None = None


class FolderSyncRecord(SyncRecord):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"parent_id"})
    name: str | None = Field(default=None, min_length=1, max_length=100)
    parent_id: LibraryId | None = None


class TagSyncRecord(SyncRecord):
    pass


class TemplateSyncRecord(SyncRecord):
    name: Name | None = None
    prompt: TemplatePrompt | None = None
    tags: TemplateTagsColumn = None
    visibility: Visibility | None = None
    variables: VariablesColumn = None


SyncIds = Annotated[list[SyncId], Field(max_length=500)]


class ImageChanges(Strict):
    created: list[ImageSyncRecord] = Field(default_factory=list, max_length=500)
    updated: list[ImageSyncRecord] = Field(default_factory=list, max_length=500)
    deleted: SyncIds = Field(default_factory=list)


class FolderChanges(Strict):
    created: list[FolderSyncRecord] = Field(default_factory=list, max_length=500)
    updated: list[FolderSyncRecord] = Field(default_factory=list, max_length=500)
    deleted: SyncIds = Field(default_factory=list)


class TagChanges(Strict):
    created: list[TagSyncRecord] = Field(default_factory=list, max_length=500)
    updated: list[TagSyncRecord] = Field(default_factory=list, max_length=500)
    deleted: SyncIds = Field(default_factory=list)


class TemplateChanges(Strict):
    created: list[TemplateSyncRecord] = Field(default_factory=list, max_length=500)
    updated: list[TemplateSyncRecord] = Field(default_factory=list, max_length=500)
    deleted: SyncIds = Field(default_factory=list)


class SyncChanges(Strict):
    """Per table, WatermelonDB's `{created, updated, deleted}`; tables left out changed nothing."""

    images: ImageChanges | None = None
    folders: FolderChanges | None = None
    tags: TagChanges | None = None
    templates: TemplateChanges | None = None


class SyncPush(Strict):
    """POST /v1/sync: the client's changes since `last_pulled_at` (the `timestamp` of its last pull)."""

    changes: SyncChanges
    last_pulled_at: SyncTime | None

    def records(self) -> list[tuple[str, str, str, dict[str, Any], int | None]]:
        """(table, op, id, writable fields, server_changed_at) of every pushed record."""
        out: list[tuple[str, str, str, dict[str, Any], int | None]] = []
        for table in ("images", "folders", "tags", "templates"):
            changes = getattr(self.changes, table)
            if changes is None:
                continue
            for op in ("created", "updated"):
                out += [(table, op, r.id, r.writable(), r.server_changed_at) for r in getattr(changes, op)]
            out += [(table, "deleted", record_id, {}, None) for record_id in changes.deleted]
        return out


# --- marketplace listings: reprice (issue 16) -----------------------------------------------------


class ListingUpdate(Strict):
    """PATCH /v1/marketplace/listings/{id}: the listing's new price in credits (1-100,000, like
    ListingCreate); later purchases pay it."""

    price_credits: int = Field(ge=1, le=100_000)
