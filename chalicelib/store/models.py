"""pynamodb models: every table's schema lives here once.

The local stack, the tests and the CDK app all create tables from these classes. Table names
and the endpoint are bound lazily by :func:`bind_models` from the settings, so importing this
module never reads the environment.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


class _Meta:
    table_name = "unbound"
    region = "us-east-1"
    host: str | None = None
    billing_mode = "PAY_PER_REQUEST"
    connect_timeout_seconds = 5
    read_timeout_seconds = 10
    max_retry_attempts = 3
    max_pool_connections = 64  # worker and API threads share one client per table


class BaseModel(Model):
    """A model whose table name is `<prefix>-<table_suffix>`."""

    table_suffix: ClassVar[str] = ""
    ttl_attribute: ClassVar[str | None] = None

    class Meta(_Meta):
        pass


# --- tenancy -------------------------------------------------------------------------------


class WorkspaceListing(GlobalSecondaryIndex["WorkspaceModel"]):
    """The admin list, newest first, without a scan: every workspace carries one of a few
    `list_shard` values ("ws#0".."ws#3", from its id), so the index is not sparse, no key is hot,
    and a page is one query per shard (merged by id: ULIDs sort by creation)."""

    class Meta:
        index_name = "listing"
        projection = AllProjection()

    list_shard = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute(range_key=True)


class WorkspaceModel(BaseModel):
    """A workspace owns a wallet; users act in it."""

    table_suffix = "workspaces"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    plan = UnicodeAttribute(default="free")
    billing_interval = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")  # active | banned
    ban_reason = UnicodeAttribute(null=True)
    owner_user_id = UnicodeAttribute(null=True)
    limits = JSONAttribute(default=dict)  # admin overrides of the plan's limits
    # Billing settings (customer, payment method, subscription, provider): typed and written only
    # by store/billing_settings.py, under `billing_version == n` (no lost update between writers).
    billing = JSONAttribute(default=dict)
    billing_version = NumberAttribute(null=True)  # absent on items never written since: 0
    created_at = UTCDateTimeAttribute()
    # The listing index and its search filters, written at creation (store/workspaces.py; older
    # workspaces: store.workspaces.backfill_listing). Filters cannot read the index's own keys,
    # hence the id's lower-case copy beside the name's.
    list_shard = UnicodeAttribute(null=True)
    name_lower = UnicodeAttribute(null=True)
    id_lower = UnicodeAttribute(null=True)
    listing = WorkspaceListing()


class UserByWorkspace(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by_workspace"
        projection = AllProjection()

    workspace_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class UserByEmail(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by_email"
        projection = KeysOnlyProjection()

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class UserModel(BaseModel):
    """A person acting inside one workspace (role owner/admin/member)."""

    table_suffix = "users"

    class Meta(_Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute(default="member")
    is_admin = BooleanAttribute(default=False)
    status = UnicodeAttribute(default="active")  # active | banned
    display_name = UnicodeAttribute(null=True)
    settings = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    by_workspace = UserByWorkspace()
    by_email = UserByEmail()


class KeyByUser(GlobalSecondaryIndex["ApiKeyModel"]):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)


class ApiKeyModel(BaseModel):
    """An API key, stored by the hash of its secret only."""

    table_suffix = "api_keys"

    class Meta(_Meta):
        pass

    key_hash = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    # The permissions this key may use (tenancy/permissions.py); absent: all its user's role allows.
    scopes = ListAttribute(of=UnicodeAttribute, null=True)
    by_user = KeyByUser()


# --- generation -----------------------------------------------------------------------------


# Platform-wide index keys are sharded so that no key takes more than 300 write units/s at
# 10,000 jobs/s (DESIGN.md "Scale"; bench/scale.py measures it). A reader queries every shard
# (in parallel) and merges: a bounded number of requests per page.
JOB_STATUS_SHARDS = 100
DENIAL_SHARDS = 64


def shard_number(value: str, shards: int) -> int:
    """crc32(value) mod shards: where a value falls, the same in every process."""
    return zlib.crc32(value.encode("utf-8")) % shards


def job_status_shard(status: str, job_id: str, shard: int | None = None) -> str:
    """`<status>#<n>`: the job's key in the `by_status_shard` index (n fixed by the job id)."""
    return f"{status}#{shard_number(job_id, JOB_STATUS_SHARDS) if shard is None else shard}"


def denial_shard(denial_id: str, shard: int | None = None) -> str:
    """`den#<n>`: a denial's key in the `by_shard` index (n fixed by the denial id)."""
    return f"den#{shard_number(denial_id, DENIAL_SHARDS) if shard is None else shard}"


class JobByStatus(GlobalSecondaryIndex["JobModel"]):
    """Platform-wide "what failed between 14:30 and 14:40" without a scan, in JOB_STATUS_SHARDS
    shards per status. Keys only: an entry is written when the job's status changes, not on each
    update of the job, and stays one write unit; the reader fetches a page's jobs in one batch."""

    class Meta:
        index_name = "by_status_shard"
        projection = KeysOnlyProjection()

    status_shard = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)


class JobModel(BaseModel):
    """A generation job; `job_id` is a ULID, so a workspace's jobs sort newest first."""

    table_suffix = "jobs"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    key_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="queued")
    kind = UnicodeAttribute(default="generate")
    prompt = UnicodeAttribute()
    provider = UnicodeAttribute()
    model = UnicodeAttribute()
    n = NumberAttribute(default=1)
    size = UnicodeAttribute(default="1024x1024")
    seed = NumberAttribute(default=0)
    params = JSONAttribute(default=dict)  # source_image_id, strength, template, variables, ...
    idempotency_key = UnicodeAttribute(null=True)
    correlation_id = UnicodeAttribute(null=True)
    credits_reserved = NumberAttribute(default=0)
    tokens_reserved = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # epoch seconds a worker owns the job until
    max_running = NumberAttribute(null=True)  # the workspace's running cap at admission (worker)
    slot = BooleanAttribute(null=True)  # True while the job holds one of the workspace's running slots
    deferred_at = UTCDateTimeAttribute(null=True)  # last time the worker sent it back to wait (cap, quota)
    attempts = NumberAttribute(default=0)
    error = JSONAttribute(null=True)
    images = JSONAttribute(default=list)
    usage = JSONAttribute(default=dict)
    timings = JSONAttribute(default=dict)  # queue_wait_ms, admission_ms, provider_ms, ...
    status_shard = UnicodeAttribute(null=True)  # job_status_shard(status, job_id), kept in step with status
    by_status = JobByStatus()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """Every write of the whole item carries the index key of its status (an update that sets
        `status` sets `status_shard` beside it: accounting/running.py, accounting/settlement.py)."""
        if self.status and self.job_id:
            self.status_shard = job_status_shard(self.status, self.job_id)
        return super().serialize(null_check)


class ImageModel(BaseModel):
    """An image in S3, with its lineage (`source_image_id`) for vary/upscale/edit."""

    table_suffix = "images"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    image_id = UnicodeAttribute(range_key=True)
    job_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    width = NumberAttribute()
    height = NumberAttribute()
    content_type = UnicodeAttribute(default="image/png")
    bytes = NumberAttribute()
    source_image_id = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(default="generate")
    created_at = UTCDateTimeAttribute()


# --- accounting -----------------------------------------------------------------------------


class WalletByActivity(GlobalSecondaryIndex["WalletModel"]):
    """Sparse on `last_active`: monthly_reset reads only wallets active last period."""

    class Meta:
        index_name = "by_activity"
        projection = KeysOnlyProjection()

    last_active = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute(range_key=True)


class WalletModel(BaseModel):
    """A workspace's credits. balance = allowance_granted - period_spent + purchased.

    `available` = balance - held is stored (kept in step by every transaction) because a
    condition expression cannot do arithmetic: admission conditions on `available >= cost`.
    """

    table_suffix = "wallets"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute()  # "2026-11": the allowance period the pools belong to
    plan = UnicodeAttribute(default="free")
    allowance_granted = NumberAttribute(default=0)
    period_spent = NumberAttribute(default=0)  # debits of this period (allowance first)
    purchased = NumberAttribute(default=0)  # purchased credits net of what spent them
    held = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    active_jobs = NumberAttribute(default=0)  # admitted, not yet settled or released (queued + running)
    running_jobs = NumberAttribute(null=True)  # jobs holding a running slot (the worker's cap)
    debt = NumberAttribute(default=0)  # clawbacks that found no credits (billing)
    banned = BooleanAttribute(default=False)
    last_active = UnicodeAttribute(null=True)  # period of the last admission: who to roll over
    updated_at = UTCDateTimeAttribute(null=True)
    by_activity = WalletByActivity()


class LedgerEntryModel(BaseModel):
    """An immutable ledger row. sum(amount) = balance and sum(held_delta) = held, per wallet."""

    table_suffix = "ledger"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)  # led_<ULID>: newest first by key
    type = UnicodeAttribute()  # hold | charge | release | grant | expire | purchase | adjust | ...
    amount = NumberAttribute(default=0)
    held_delta = NumberAttribute(default=0)
    job_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    key_id = UnicodeAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    model = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)  # business object that caused it (invoice, session, ...)
    reason = UnicodeAttribute(null=True)
    details = JSONAttribute(default=dict)  # tokens, provider_ms, cost_micro_usd, images, ...
    created_at = UTCDateTimeAttribute()


class HoldByOpen(GlobalSecondaryIndex["HoldModel"]):
    """Sparse: only holds still `held` carry `open_shard` (accounting.keys.HOLD_SHARDS values), so
    the sweeper reads just those."""

    class Meta:
        index_name = "open_holds"
        projection = AllProjection()

    open_shard = UnicodeAttribute(hash_key=True)
    created_epoch = NumberAttribute(range_key=True)


class HoldModel(BaseModel):
    """The admission guard: one row per (workspace, idempotency key); status held → settled."""

    table_suffix = "holds"

    class Meta(_Meta):
        pass

    hold_key = UnicodeAttribute(hash_key=True)  # "<workspace_id>#<idempotency key>"
    workspace_id = UnicodeAttribute()
    job_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    status = UnicodeAttribute(default="held")  # held | settled | released
    credits = NumberAttribute()
    tokens = NumberAttribute(default=0)
    day = UnicodeAttribute()  # the quota day the hold counted against
    request_hash = UnicodeAttribute(null=True)
    open_shard = UnicodeAttribute(null=True)
    created_epoch = NumberAttribute()
    resolved_at = UTCDateTimeAttribute(null=True)
    by_open = HoldByOpen()


class CounterModel(BaseModel):
    """Rate-limit windows and daily quotas; the period is part of the key, TTL cleans up."""

    table_suffix = "counters"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    counter_key = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(null=True)
    credits = NumberAttribute(null=True)
    tokens = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class RollupModel(BaseModel):
    """Daily usage totals by workspace/provider/user: dashboards read O(days) items."""

    table_suffix = "rollups"

    class Meta(_Meta):
        pass

    rollup_key = UnicodeAttribute(hash_key=True)  # e.g. "WS#ws_…", "WSP#ws_…", "ALL#2"
    sort_key = UnicodeAttribute(range_key=True)  # "<day>" or "<day>#<dimension>"
    jobs = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    images = NumberAttribute(default=0)
    credits = NumberAttribute(default=0)
    cost_micro_usd = NumberAttribute(default=0)
    input_tokens = NumberAttribute(default=0)
    output_tokens = NumberAttribute(default=0)
    provider_ms = NumberAttribute(default=0)


class DenialByShard(GlobalSecondaryIndex["DenialModel"]):
    """Platform-wide denials, newest first by id (admin "what failed at 14:32"), in DENIAL_SHARDS
    shards: a storm of denials writes no single hot key, and any time range is one id range per
    shard (DENIAL_SHARDS queries, whatever the range's length)."""

    class Meta:
        index_name = "by_shard"
        projection = AllProjection()

    denial_shard = UnicodeAttribute(hash_key=True)
    denial_id = UnicodeAttribute(range_key=True)


class DenialModel(BaseModel):
    """A refused admission (429/402/403): who, why, when; kept 90 days."""

    table_suffix = "denials"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    denial_id = UnicodeAttribute(range_key=True)  # den_<ULID>
    day = UnicodeAttribute()
    denial_shard = UnicodeAttribute(null=True)  # denial_shard(denial_id)
    user_id = UnicodeAttribute(null=True)
    key_id = UnicodeAttribute(null=True)
    code = UnicodeAttribute()  # rate_limited | insufficient_credits | quota_exceeded | account_banned | ...
    scope = UnicodeAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)
    by_shard = DenialByShard()


class AuditModel(BaseModel):
    """Who changed what, before and after, and why (every admin mutation)."""

    table_suffix = "audit"

    class Meta(_Meta):
        pass

    target = UnicodeAttribute(hash_key=True)  # "ws_…", "usr_…", "platform"
    audit_id = UnicodeAttribute(range_key=True)
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class MarkerModel(BaseModel):
    """Exactly-once markers: processed webhook events, granted business objects, runs."""

    table_suffix = "markers"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    marker = UnicodeAttribute(hash_key=True)
    data = JSONAttribute(default=dict)
    value = NumberAttribute(null=True)  # a running total where one is kept (e.g. credits clawed back)
    created_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)


class SubscriptionModel(BaseModel):
    """A Stripe subscription as we last applied it; `event_created` orders out-of-order events."""

    table_suffix = "subscriptions"

    class Meta(_Meta):
        pass

    subscription_id = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # active | trialing | past_due | canceled | unpaid | incomplete | ...
    plan = UnicodeAttribute()
    interval = UnicodeAttribute(null=True)
    cancel_at_period_end = BooleanAttribute(default=False)
    current_period_end = NumberAttribute(null=True)
    past_due_since = NumberAttribute(null=True)
    event_created = NumberAttribute()  # `created` of the last applied event (seconds)
    deleted = BooleanAttribute(default=False)
    updated_at = UTCDateTimeAttribute()


class TopupModel(BaseModel):
    """Auto top-up settings and state of a workspace (conditions keep it exact under races)."""

    table_suffix = "topups"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    enabled = BooleanAttribute(default=False)
    threshold = NumberAttribute(default=0)
    amount = NumberAttribute(default=0)
    monthly_cap = NumberAttribute(default=0)
    period = UnicodeAttribute(null=True)  # the month the counters below belong to
    granted_this_period = NumberAttribute(default=0)
    attempts_this_period = NumberAttribute(default=0)  # numbers the idempotency keys of the cycles
    consecutive_failures = NumberAttribute(default=0)
    pending_payment_intent = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class _IdempotencyMeta(_Meta):
    pass


class IdempotencyRecordModel(BaseModel):
    """Schema of Powertools Idempotency's table (it writes through its own client)."""

    table_suffix = "idempotency"
    ttl_attribute = "expiration"

    class Meta(_IdempotencyMeta):
        pass

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)


class RejectedEventModel(BaseModel):
    """Signed Stripe events refused for good: acknowledged (so Stripe stops retrying), changed
    nothing, and listed for operators. Two rows per event: `stripe` (the list, newest first by
    the ULID) and `stripe_event:<evt_…>` (written in the same transaction, so a replay adds none)."""

    table_suffix = "rejected_events"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    partition = UnicodeAttribute(hash_key=True)
    rejected_id = UnicodeAttribute(range_key=True)  # rej_<ULID> in the list; "guard" in the guard row
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    reason = UnicodeAttribute()
    field = UnicodeAttribute(null=True)
    workspace_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    WorkspaceModel,
    UserModel,
    ApiKeyModel,
    JobModel,
    ImageModel,
    WalletModel,
    LedgerEntryModel,
    HoldModel,
    CounterModel,
    RollupModel,
    AuditModel,
    DenialModel,
    MarkerModel,
    SubscriptionModel,
    TopupModel,
    IdempotencyRecordModel,
    RejectedEventModel,
)
