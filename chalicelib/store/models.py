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
    MapAttribute,
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
    # Teams: spend caps of this key (admission enforces them) and who owns it ("workspace" for a
    # service key, which survives member removal; absent: its user's personal key).
    credits_per_day = NumberAttribute(null=True)
    credits_per_month = NumberAttribute(null=True)
    owner = UnicodeAttribute(null=True)
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
    template_id = UnicodeAttribute(null=True)  # the template the prompt was rendered from
    template_version = NumberAttribute(null=True)  # ... at this version (later edits do not change the job)
    template_notice = UnicodeAttribute(null=True)  # e.g. the template's pinned model was gone: what we used
    # The spend-cap counters admission took for this job (key/member caps): settlement corrects them.
    spend_counters = ListAttribute(of=UnicodeAttribute, null=True)
    status_shard = UnicodeAttribute(null=True)  # job_status_shard(status, job_id), kept in step with status
    by_status = JobByStatus()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """Every write of the whole item carries the index key of its status (an update that sets
        `status` sets `status_shard` beside it: accounting/running.py, accounting/settlement.py)."""
        if self.status and self.job_id:
            self.status_shard = job_status_shard(self.status, self.job_id)
        return super().serialize(null_check)


class ImageByFolder(GlobalSecondaryIndex["ImageModel"]):
    """A folder's live images, newest first (sparse: only images in a folder and not trashed
    carry `folder_key` = "<workspace_id>#<folder_id>"). Keys only: a page reads the rows by key."""

    class Meta:
        index_name = "by_folder"
        projection = KeysOnlyProjection()

    folder_key = UnicodeAttribute(hash_key=True)
    image_id = UnicodeAttribute(range_key=True)


class ImageByFolderRank(GlobalSecondaryIndex["ImageModel"]):
    """A folder's live images in the order its owner set (library/ranks.py): sparse like
    by_folder; `folder_rank` is set whenever `folder_key` is. Keys only."""

    class Meta:
        index_name = "by_folder_rank"
        projection = KeysOnlyProjection()

    folder_key = UnicodeAttribute(hash_key=True)
    folder_rank = UnicodeAttribute(range_key=True)


class ImageBySync(GlobalSecondaryIndex["ImageModel"]):
    """A workspace's images by when they last changed (`sync_ms`, set by every write of the row,
    store/images.py): offline sync's pull reads it (mobile/sync.py). Sparse: rows written before
    it carry none. Keys only: a pull reads the rows by key."""

    class Meta:
        index_name = "by_sync"
        projection = KeysOnlyProjection()

    workspace_id = UnicodeAttribute(hash_key=True)
    sync_ms = NumberAttribute(range_key=True)


class ImageModel(BaseModel):
    """An image in S3, with its lineage (`source_image_id`) for vary/upscale/edit.

    Library fields (chalicelib/library): rows are first-class (listed, searched, organised);
    `version` orders concurrent edits (every library write conditions on it)."""

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
    # --- library (absent on rows written before it: read as their defaults) ---
    prompt = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    folder_id = UnicodeAttribute(null=True)
    folder_key = UnicodeAttribute(null=True)  # set only while in a folder and not trashed (by_folder)
    folder_rank = UnicodeAttribute(null=True)  # its place in the folder (library/ranks.py; by_folder_rank)
    provider = UnicodeAttribute(null=True)
    model = UnicodeAttribute(null=True)
    visibility = UnicodeAttribute(null=True)  # private | public (None: private)
    trashed_at = UTCDateTimeAttribute(null=True)
    thumb_key = UnicodeAttribute(null=True)
    counts_storage = BooleanAttribute(null=True)  # uploads: its bytes count against the plan's storage
    version = NumberAttribute(null=True)
    # counted in the workspace's `images`/`image_bytes` usage counters (written with them; older
    # rows are counted once by `python -m chalicelib.ops backfill-library`)
    counted = BooleanAttribute(null=True)
    sync_ms = NumberAttribute(null=True)  # epoch ms of the row's last write (offline sync, by_sync)
    by_folder = ImageByFolder()
    by_folder_rank = ImageByFolderRank()
    by_sync = ImageBySync()


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


# --- templates ------------------------------------------------------------------------------


class TemplatesByWorkspace(GlobalSecondaryIndex["TemplateModel"]):
    """A workspace's live templates, newest first: sparse on `ws_listing`, which only the head row
    of a template that is not deleted carries. One partition per workspace (its own ceiling)."""

    class Meta:
        index_name = "by_workspace"
        projection = AllProjection()

    ws_listing = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)


class PublicTemplates(GlobalSecondaryIndex["TemplateModel"]):
    """Every live public template, newest first, in a few shards ("pub#0".."pub#3", from the id):
    sparse on `public_shard`, so a page is one query per shard merged by id, and no index key
    takes every public write."""

    class Meta:
        index_name = "public"
        projection = AllProjection()

    public_shard = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)


class TemplateModel(BaseModel):
    """A custom template: one immutable row per version (1, 2, ...) and a head row (version 0)
    that copies the latest version and carries what may change without a new version: deletion
    and the listing keys. Jobs keep the version they used; its row stays readable."""

    table_suffix = "templates"

    class Meta(_Meta):
        pass

    template_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)  # 0: the head
    latest_version = NumberAttribute()
    workspace_id = UnicodeAttribute()
    created_by = UnicodeAttribute()
    name = UnicodeAttribute()
    prompt = UnicodeAttribute()
    variables = JSONAttribute(default=dict)
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    words = ListAttribute(of=UnicodeAttribute, default=list)  # search.template_words: ?q= filters on it
    visibility = UnicodeAttribute()  # private | workspace | public
    provider = UnicodeAttribute(null=True)
    model = UnicodeAttribute(null=True)
    size = UnicodeAttribute(null=True)
    n = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    deleted_at = UTCDateTimeAttribute(null=True)
    ws_listing = UnicodeAttribute(null=True)
    public_shard = UnicodeAttribute(null=True)
    by_workspace = TemplatesByWorkspace()
    public = PublicTemplates()


class TemplateUsageModel(BaseModel):
    """Usage counts of templates without a hot item: `<tpl>#<shard>` rows hold a share of the
    uses and of the distinct workspaces (summed on read: one BatchGetItem); `<tpl>#ws#<ws_id>`
    rows mark a workspace's uses of a template (the first one counts the workspace)."""

    table_suffix = "template_usage"

    class Meta(_Meta):
        pass

    usage_key = UnicodeAttribute(hash_key=True)
    uses = NumberAttribute(null=True)
    workspaces = NumberAttribute(null=True)
    first_used_at = UTCDateTimeAttribute(null=True)


# --- library --------------------------------------------------------------------------------


class LibraryIndexBySync(GlobalSecondaryIndex["LibraryIndexModel"]):
    """A workspace's tags by when their count last moved (`sync_ms` on the "<ws>#tags" rows only,
    set by store/library_index.add_tag_counts): offline sync's pull reads it. Keys only."""

    class Meta:
        index_name = "by_sync"
        projection = KeysOnlyProjection()

    pk = UnicodeAttribute(hash_key=True)
    sync_ms = NumberAttribute(range_key=True)


class LibraryIndexModel(BaseModel):
    """The library's inverted index and small counters, by key design (never a scan).

    - facet rows: pk "<ws>#all" | "<ws>#trash" | "<ws>#tag:<t>" | "<ws>#word:<w>" |
      "<ws>#provider:<p>" | "<ws>#model:<m>" | "<ws>#kind:<k>", sk = image_id (newest first);
    - tag counts: pk "<ws>#tags", sk = tag, `n`; storage used: pk "<ws>#usage", sk "storage_bytes";
      the folder tree's version: pk "<ws>#usage", sk "folder_tree";
    - due work (trash purge, expired uploads): pk "due#<shard>", sk "<epoch>#<kind>#<ws>#<id>".
    Facet rows are written before the image row changes and re-checked against it on read, so
    a stale row is skipped, never shown. A workspace's own keys take its own write rate only."""

    table_suffix = "library_index"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # rate windows of public links ("rate#<ip hash>")
    sync_ms = NumberAttribute(null=True)  # tag count rows: epoch ms of the last change (offline sync)
    by_sync = LibraryIndexBySync()


class FolderModel(BaseModel):
    """A folder of a workspace's library; nesting by `parent_id` (paths computed on read)."""

    table_suffix = "folders"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    folder_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute()
    image_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class ShareByToken(GlobalSecondaryIndex["ShareModel"]):
    """The public link's lookup: the token's SHA-256 → the share (then read consistently)."""

    class Meta:
        index_name = "by_token"
        projection = KeysOnlyProjection()

    token_hash = UnicodeAttribute(hash_key=True)


class ShareModel(BaseModel):
    """A link to an image or a folder; only the hash of its token is stored."""

    table_suffix = "shares"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    share_id = UnicodeAttribute(range_key=True)
    token_hash = UnicodeAttribute()
    user_id = UnicodeAttribute()
    target_type = UnicodeAttribute()  # image | folder | collection
    target_id = UnicodeAttribute()
    permission = UnicodeAttribute()  # view | download
    show_prompt = BooleanAttribute(default=False)  # the owner lets the link show prompts
    expires_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by_token = ShareByToken()


class UploadModel(BaseModel):
    """A presigned upload, pending until completed (then it points at its image) or expired."""

    table_suffix = "uploads"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    upload_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    bytes = NumberAttribute()
    status = UnicodeAttribute(default="pending")  # pending | completed
    image_id = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()


# --- teams ----------------------------------------------------------------------------------


class MembershipByPerson(GlobalSecondaryIndex["MembershipModel"]):
    """The workspaces a person belongs to (`GET /v1/workspaces`); sparse: only membership rows
    carry `person` (the workspace's owner-count row does not)."""

    class Meta:
        index_name = "by_person"
        projection = AllProjection()

    person = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute(range_key=True)


class MembershipModel(BaseModel):
    """A person in a workspace (store/memberships.py explains where the role lives), and one
    `#owners` row per workspace counting its owners (so the last owner can never leave)."""

    table_suffix = "memberships"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)  # usr_… or "#owners"
    person = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)  # absent in the person's home workspace: UserModel.role
    credits_per_month = NumberAttribute(null=True)  # the member's monthly spend cap (admission)
    keys_version = NumberAttribute(default=0)  # +1 per key created: removal revokes a known set
    owners = NumberAttribute(null=True)  # on the `#owners` row only
    joined_at = UTCDateTimeAttribute(null=True)
    removed_at = UTCDateTimeAttribute(null=True)  # a removed member's row stays (without `person`)
    by_person = MembershipByPerson()


class InvitationByToken(GlobalSecondaryIndex["InvitationModel"]):
    """An invitation by the hash of its token (accepting one)."""

    class Meta:
        index_name = "by_token"
        projection = KeysOnlyProjection()

    token_hash = UnicodeAttribute(hash_key=True)


class InvitationModel(BaseModel):
    """An invitation by email: single use (status pending → accepted), expiring, token stored hashed."""

    table_suffix = "invitations"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    invitation_id = UnicodeAttribute(range_key=True)  # inv_<ULID>: newest first by key
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")  # pending | accepted | revoked
    token_hash = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()
    sent_count = NumberAttribute(default=1)
    accepted_by = UnicodeAttribute(null=True)
    accepted_at = UTCDateTimeAttribute(null=True)
    by_token = InvitationByToken()


class OutboxMailModel(BaseModel):
    """Mail the local stages "sent" (tenancy/mail.py): what SES would have delivered, readable by
    tests and platform admins at `GET /admin/api/outbox?to=`. Kept 7 days."""

    table_suffix = "outbox"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    to = UnicodeAttribute(hash_key=True)
    mail_id = UnicodeAttribute(range_key=True)  # mail_<ULID>: newest first by key
    subject = UnicodeAttribute()
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)


# --- webhooks (outgoing events) -------------------------------------------------------------


class WebhookEndpointModel(BaseModel):
    """A workspace's webhook endpoint (or a Zapier REST hook, `kind` "zapier").

    `secret` is the Standard Webhooks signing secret (`whsec_…`): signing needs the secret
    itself, so unlike an API key it cannot be stored as a hash; it is never logged or listed.
    During a rotation `previous_secret` signs too, until `previous_expires` (epoch seconds)."""

    table_suffix = "webhook_endpoints"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    endpoint_id = UnicodeAttribute(range_key=True)  # whe_<ULID>
    kind = UnicodeAttribute(default="webhook")  # webhook | zapier | ifttt (IFTTT's Realtime API, one per trigger)
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="enabled")  # enabled | disabled
    disabled_reason = UnicodeAttribute(null=True)
    secret = UnicodeAttribute()
    previous_secret = UnicodeAttribute(null=True)
    previous_expires = NumberAttribute(null=True)
    failing_since = NumberAttribute(null=True)  # epoch seconds of the first failure of the current streak
    trigger_identities: MapAttribute[str, int] = MapAttribute(
        null=True
    )  # kind "ifttt": IFTTT trigger identity -> epoch seconds last polled
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)


class WebhookEventByType(GlobalSecondaryIndex["WebhookEventModel"]):
    """A workspace's recent events of one type, newest first (Zapier samples)."""

    class Meta:
        index_name = "by_type"
        projection = AllProjection()

    workspace_type = UnicodeAttribute(hash_key=True)  # "<workspace_id>#<event type>"
    event_id = UnicodeAttribute(range_key=True)


class OutboxPending(GlobalSecondaryIndex["WebhookEventModel"]):
    """Sparse: only events not yet fanned out carry `sweep_shard` (webhooks.outbox.SWEEP_SHARDS
    values), so the outbox sweeper reads just those whose `sweep_after` has passed."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    sweep_shard = UnicodeAttribute(hash_key=True)
    sweep_after = NumberAttribute(range_key=True)  # epoch seconds: when the sweeper may send it again


class WebhookEventModel(BaseModel):
    """The outbox: one row per domain event, written once per event id (the receivers' dedupe key)."""

    table_suffix = "webhook_events"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)  # evt_<ULID>, derived from the event's business key
    type = UnicodeAttribute()
    workspace_type = UnicodeAttribute()
    data = JSONAttribute(default=dict)
    occurred_at = UTCDateTimeAttribute()
    fanned_out = BooleanAttribute(default=False)
    expires_at = NumberAttribute(null=True)
    sweep_shard = UnicodeAttribute(null=True)  # set until fanned out (the sweeper's index)
    sweep_after = NumberAttribute(null=True)
    by_type = WebhookEventByType()
    pending = OutboxPending()


class DeliveryByEndpoint(GlobalSecondaryIndex["WebhookDeliveryModel"]):
    """An endpoint's deliveries, newest first."""

    class Meta:
        index_name = "by_endpoint"
        projection = AllProjection()

    endpoint_id = UnicodeAttribute(hash_key=True)
    delivery_id = UnicodeAttribute(range_key=True)


class WebhookDeliveryModel(BaseModel):
    """One event to one endpoint, with every attempt (status, latency, response excerpt)."""

    table_suffix = "webhook_deliveries"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    delivery_id = UnicodeAttribute(range_key=True)  # whd_<ULID>, derived from (event, endpoint)
    endpoint_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")  # pending | succeeded | failed
    attempts_made = NumberAttribute(default=0)  # the claim counter: one HTTP attempt per value
    attempts = JSONAttribute(default=list)  # the newest MAX_ATTEMPTS_KEPT attempts
    next_attempt_at = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    by_endpoint = DeliveryByEndpoint()


# --- outgoing events: balance.low (issue 14) ------------------------------------------------


class BalanceAlertModel(BaseModel):
    """A workspace's low-balance state: `low` flips on when a check finds `available` below the
    threshold (one balance.low per flip, numbered by `crossings`) and off when one finds it back
    at or above (re-armed). Written only on a flip, each time with a condition on the wallet."""

    table_suffix = "balance_alerts"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    low = BooleanAttribute(default=False)
    crossings = NumberAttribute(default=0)
    threshold = NumberAttribute(null=True)  # the level of the last flip
    changed_at = UTCDateTimeAttribute(null=True)


# --- library exports (issue 12) -------------------------------------------------------------


class ExportModel(BaseModel):
    """A zip of a workspace's images built by the exports worker (chalicelib/library/exports.py).

    status: queued → running → ready | failed; a ready zip is deleted at `expires_at` (then
    `expired`). Every move out of queued/running is conditioned on the status it leaves, in the
    transaction that gives back the workspace's pending-export slot, so it happens once."""

    table_suffix = "exports"
    ttl_attribute = "purge_at"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    export_id = UnicodeAttribute(range_key=True)  # exp_<ULID>: newest first by key
    user_id = UnicodeAttribute()
    status = UnicodeAttribute(default="queued")  # queued | running | ready | failed | expired
    folder_id = UnicodeAttribute(null=True)  # the folder exported (None: the ids given)
    image_ids = ListAttribute(of=UnicodeAttribute)  # what was asked for, in order (at most 500)
    bytes = NumberAttribute(default=0)  # the originals' bytes when asked for (the size bound)
    zip_key = UnicodeAttribute()
    zip_bytes = NumberAttribute(null=True)
    included = NumberAttribute(null=True)  # images in the zip
    skipped = NumberAttribute(null=True)  # trashed or deleted between the request and the build
    error = JSONAttribute(null=True)  # {"code", "message"} of a failed export
    lease_until = NumberAttribute(null=True)  # epoch seconds a worker owns the build until
    attempts = NumberAttribute(default=0)
    notified = BooleanAttribute(null=True)  # export.ready was emitted
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)  # when the ready zip is deleted
    purge_at = NumberAttribute(null=True)  # TTL (epoch seconds): the row itself goes 30 days after the zip


# --- teams: people who sign in, customer analytics -----------------------------------------


class IdentityModel(BaseModel):
    """A person's sign-in identity (a Cognito user pool's `sub`) linked to one user, written on
    their first sign-in (tenancy/signin.py: matched by verified email) and read on every one after."""

    table_suffix = "identities"

    class Meta(_Meta):
        pass

    identity = UnicodeAttribute(hash_key=True)  # "cognito#<pool id>#<sub>"
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    linked_at = UTCDateTimeAttribute()


# Fixed buckets of the analytics timing histograms (upper bounds in ms; the last is open): a
# percentile is read from the counts (accounting/analytics.py), never from the jobs.
ANALYTICS_BUCKETS_MS = (100, 250, 500, 1000, 2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000)
ANALYTICS_TIMINGS = ("duration", "queue_wait", "provider")  # attribute prefixes d, w, p


class AnalyticsModel(BaseModel):
    """A workspace's usage and timings per hour (`AH#<ws>`) and per day (`AD#<ws>`), one row per
    (bucket, member, key, provider, model) that had finished jobs: settlement and release add to
    both in their one transaction; the customer analytics read a range of one partition."""

    table_suffix = "analytics"

    class Meta(_Meta):
        pass

    rollup_key = UnicodeAttribute(hash_key=True)  # "AH#<workspace_id>" or "AD#<workspace_id>"
    sort_key = UnicodeAttribute(range_key=True)  # "<hour or day>#<user_id>#<key_id or ->#<provider>#<model>"
    jobs = NumberAttribute(null=True)  # succeeded
    failed = NumberAttribute(null=True)
    images = NumberAttribute(null=True)
    credits = NumberAttribute(null=True)
    cost_micro_usd = NumberAttribute(null=True)
    input_tokens = NumberAttribute(null=True)
    output_tokens = NumberAttribute(null=True)
    duration_ms = NumberAttribute(null=True)  # sums of the timings (a timing's count: its buckets' sum)
    queue_wait_ms = NumberAttribute(null=True)
    provider_ms = NumberAttribute(null=True)
    # One counter per histogram bucket and timing: d00..d15 (duration), w00..w15 (queue wait),
    # p00..p15 (provider time). Declared in a loop (the class namespace) rather than 48 lines;
    # settlement adds 1 to one bucket of each, so a row stores only the buckets it has seen.
    for _prefix in ("d", "w", "p"):
        for _n in range(len(ANALYTICS_BUCKETS_MS) + 1):
            vars()[f"{_prefix}{_n:02d}"] = NumberAttribute(null=True)
    del _prefix, _n


# --- gallery: collections, the public gallery, reports ----------------------------------------
# This section's own imports (appended here rather than merged into the block at the top).
from pynamodb.attributes import UnicodeSetAttribute  # noqa: E402
from pynamodb.indexes import IncludeProjection  # noqa: E402

_COLLECTION_VIEW = ["user_id", "name", "description", "visibility", "cover_image_id", "item_count", "created_at"]


class CollectionsByWorkspace(GlobalSecondaryIndex["CollectionModel"]):
    """A workspace's collections, newest first (one partition per workspace: its own ceiling).
    The projection leaves out the item list, so a page of collections stays small."""

    class Meta:
        index_name = "by_workspace"
        projection = IncludeProjection(_COLLECTION_VIEW)

    workspace_id = UnicodeAttribute(hash_key=True)
    collection_id = UnicodeAttribute(range_key=True)


class PublicCollections(GlobalSecondaryIndex["CollectionModel"]):
    """Every public collection, newest first, in a few shards ("pcol#0".."pcol#3", from the id):
    sparse on `public_shard` (only public collections carry it); a page merges one query per shard."""

    class Meta:
        index_name = "public"
        projection = IncludeProjection([*_COLLECTION_VIEW, "workspace_id"])

    public_shard = UnicodeAttribute(hash_key=True)
    collection_id = UnicodeAttribute(range_key=True)


class CollectionModel(BaseModel):
    """A collection (album) of a workspace's images in the order its owner sets.

    The order is the list `item_ids` on this one row (at most gallery.rules.MAX_ITEMS), so
    adding, removing and reordering are one conditional write each (on `version`), and
    `item_count` always equals the list's length. Keyed by id alone: a public read is one GetItem."""

    table_suffix = "collections"

    class Meta(_Meta):
        pass

    collection_id = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    user_id = UnicodeAttribute()  # who made it: they edit it with library:write, others need library:manage
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    visibility = UnicodeAttribute()  # private | unlisted | public
    cover_image_id = UnicodeAttribute(null=True)
    item_ids = ListAttribute(of=UnicodeAttribute, default=list)
    item_count = NumberAttribute(default=0)
    version = NumberAttribute(default=1)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    public_shard = UnicodeAttribute(null=True)
    by_workspace = CollectionsByWorkspace()
    public = PublicCollections()


class GalleryEntryModel(BaseModel):
    """A published image's place in the public gallery (absent when not published).

    `listed_key` ("pub_<ULID>", new at each publish) orders the "new" listing and names the index
    rows that are current; `rank_key` names its current row of the "top" listing. Reads re-check
    both against the index rows they came from, and re-check the image row itself (trash, hiding),
    so a stale index row is skipped, never shown."""

    table_suffix = "gallery_entries"

    class Meta(_Meta):
        pass

    image_id = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    listed_key = UnicodeAttribute()
    facets = ListAttribute(of=UnicodeAttribute, default=list)  # the index rows written at publish
    likes = NumberAttribute(default=0)  # the count its rank row was written with
    rank_key = UnicodeAttribute(null=True)
    preview_key = UnicodeAttribute()  # opaque public copies (objects.shared_copy): no workspace in the key
    original_key = UnicodeAttribute()
    published_by = UnicodeAttribute()
    published_at = UTCDateTimeAttribute()


class GalleryIndexModel(BaseModel):
    """The gallery's inverted index and counters, every hot key sharded (DESIGN "Scale").

    - facet rows: pk "f#<facet>#<shard>" (facet: all | tag:<t> | word:<w> | provider:<p> |
      model:<m>; shard from the image id), sk = listed_key, `image_id`;
    - top rows: pk "top#<shard>", sk "<likes, 10 digits>#<listed_key>", `image_id`;
    - like counters: pk "likes#<image_id>#<k>" (k < LIKE_SHARDS), sk "n", `n`;
    - once-per-client markers: pk "like#<image_id>#<client>" / "report#<image_id>#<client>", sk "-";
    - per-client rate windows: pk "rate#<scope>#<client>", sk = the minute, `n`, `expires_at`."""

    table_suffix = "gallery_index"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    image_id = UnicodeAttribute(null=True)
    n = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class ReportsByStatus(GlobalSecondaryIndex["ReportCaseModel"]):
    """Report cases by status, most recently reported first, in a few shards ("open#0".."open#3")."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status_shard = UnicodeAttribute(hash_key=True)
    last_key = UnicodeAttribute(range_key=True)


class ReportCaseModel(BaseModel):
    """Everything reported about one image: how many clients reported it (each once), for which
    reasons, and what a platform admin decided (open | hidden | dismissed)."""

    table_suffix = "gallery_reports"

    class Meta(_Meta):
        pass

    image_id = UnicodeAttribute(hash_key=True)
    workspace_id = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    status_shard = UnicodeAttribute()
    last_key = UnicodeAttribute()  # "rpt_<ULID>" of the latest report (or decision): the listing's order
    reports = NumberAttribute(default=0)
    reasons = UnicodeSetAttribute(null=True)
    last_note = UnicodeAttribute(null=True)
    first_reported_at = UTCDateTimeAttribute(null=True)
    last_reported_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    by_status = ReportsByStatus()


# --- marketplace (issue 16) -----------------------------------------------------------------


class ListingsNew(GlobalSecondaryIndex["ListingModel"]):
    """Listings for sale, newest first, in MARKET_SHARDS partitions ("mkt#0".."mkt#3", from the
    id): sparse on `market_shard`, which only a listing for sale carries."""

    class Meta:
        index_name = "new"
        projection = AllProjection()

    market_shard = UnicodeAttribute(hash_key=True)
    listing_id = UnicodeAttribute(range_key=True)


class ListingsTop(GlobalSecondaryIndex["ListingModel"]):
    """Listings for sale, best selling first: `top_rank` is "<sales, 10 digits>#<listing_id>"."""

    class Meta:
        index_name = "top"
        projection = AllProjection()

    market_shard = UnicodeAttribute(hash_key=True)
    top_rank = UnicodeAttribute(range_key=True)


class ListingsReported(GlobalSecondaryIndex["ListingModel"]):
    """Reported listings still for sale, most recently reported first (the admins' queue)."""

    class Meta:
        index_name = "reported"
        projection = AllProjection()

    reported_shard = UnicodeAttribute(hash_key=True)
    last_report = UnicodeAttribute(range_key=True)


class ListingModel(BaseModel):
    """A template for sale: its price, what buyers see of it (name, tags: never the prompt), its
    sales and ratings, and its moderation state (active | hidden)."""

    table_suffix = "listings"

    class Meta(_Meta):
        pass

    listing_id = UnicodeAttribute(hash_key=True)  # lst_<ULID>
    workspace_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    created_by = UnicodeAttribute()
    price_credits = NumberAttribute()
    status = UnicodeAttribute(default="active")  # active | hidden | withdrawn
    name = UnicodeAttribute()
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    words = ListAttribute(of=UnicodeAttribute, default=list)
    sales = NumberAttribute(default=0)
    rating_total = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    reports = NumberAttribute(default=0)
    report_reasons = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    hidden_at = UTCDateTimeAttribute(null=True)
    hidden_by = UnicodeAttribute(null=True)
    hidden_reason = UnicodeAttribute(null=True)
    market_shard = UnicodeAttribute(null=True)
    top_rank = UnicodeAttribute(null=True)
    reported_shard = UnicodeAttribute(null=True)
    last_report = UnicodeAttribute(null=True)
    by_new = ListingsNew()
    by_top = ListingsTop()
    by_reported = ListingsReported()
    withdrawn_at = UTCDateTimeAttribute(null=True)
    withdrawn_by = UnicodeAttribute(null=True)


class BuyerPurchases(GlobalSecondaryIndex["MarketItemModel"]):
    """A workspace's purchases, newest first: only purchase rows carry `buyer_ws`."""

    class Meta:
        index_name = "by_buyer"
        projection = AllProjection()

    buyer_ws = UnicodeAttribute(hash_key=True)
    bought_key = UnicodeAttribute(range_key=True)  # "<RFC 3339 purchased_at>#<template_id>": sorts by time


class MarketItemModel(BaseModel):
    """The marketplace's small rows, by key design:

    - a template's listing: pk "tpl#<template_id>", sk "listing" (one listing per template);
    - a purchase: pk "buy#<buyer workspace>", sk "tpl#<template_id>", with the listing, price,
      fee, the creator's net and earnings entry, `status` purchased | refunded, and the buyer's
      `stars` (1-5) once rated;
    - a report marker: pk "report#<listing_id>", sk "<reporting workspace>" (each counts once)."""

    table_suffix = "market_items"

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    listing_id = UnicodeAttribute(null=True)
    workspace_id = UnicodeAttribute(null=True)  # the seller (listing rows and purchases)
    template_id = UnicodeAttribute(null=True)
    buyer_id = UnicodeAttribute(null=True)  # the user who bought
    price = NumberAttribute(null=True)
    fee = NumberAttribute(null=True)
    net = NumberAttribute(null=True)
    earning_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    stars = NumberAttribute(null=True)
    purchased_at = UTCDateTimeAttribute(null=True)
    refunded_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    buyer_ws = UnicodeAttribute(null=True)  # purchases: the buying workspace (the by_buyer index)
    bought_key = UnicodeAttribute(null=True)
    by_buyer = BuyerPurchases()


class PendingEarnings(GlobalSecondaryIndex["EarningsModel"]):
    """A workspace's sales still held, by the time they mature: sparse on `pending_ws`, which a
    sale entry carries only while pending, so maturing reads exactly the entries due."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending_ws = UnicodeAttribute(hash_key=True)
    matures_at = UnicodeAttribute(range_key=True)  # RFC 3339 UTC: sorts by time


class OpenPayouts(GlobalSecondaryIndex["EarningsModel"]):
    """Payouts still `requested` (reserved, Stripe's answer not recorded), oldest first: sparse on
    `open_payout`, which a payout row carries only while requested, so the payout sweeper reads
    exactly those. One key: payouts are people asking for their money, far below a partition's
    write ceiling."""

    class Meta:
        index_name = "open_payouts"
        projection = AllProjection()

    open_payout = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)  # RFC 3339 UTC: sorts by time


class EarningsModel(BaseModel):
    """A creator workspace's earnings: the `account` row (pools pending / available / paid_out and
    its Stripe Connect account) and its ledger, one immutable entry per change of a pool
    ("ern_<ULID>": sale, matured, refund, payout, payout_reversed), each with the deltas it made.
    For every workspace: pool == sum of that pool's deltas over its entries."""

    table_suffix = "earnings"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)  # "account" | "ern_<ULID>" | "pay#<key>"
    pending = NumberAttribute(null=True)
    available = NumberAttribute(null=True)
    paid_out = NumberAttribute(null=True)
    connect_account_id = UnicodeAttribute(null=True)
    payouts_enabled = BooleanAttribute(null=True)
    details_submitted = BooleanAttribute(null=True)
    account_event_at = NumberAttribute(null=True)  # `created` of the last account.updated applied
    type = UnicodeAttribute(null=True)
    pending_delta = NumberAttribute(null=True)
    available_delta = NumberAttribute(null=True)
    paid_out_delta = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)  # sale: pending | matured | refunded; payout: requested | paid | failed
    listing_id = UnicodeAttribute(null=True)
    buyer_workspace_id = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)  # the sale an entry belongs to, or the payout
    amount = NumberAttribute(null=True)
    cents = NumberAttribute(null=True)
    transfer_id = UnicodeAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    actor = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    pending_ws = UnicodeAttribute(null=True)
    matures_at = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    by_pending = PendingEarnings()
    open_payout = UnicodeAttribute(null=True)  # payouts: set only while requested (the sweeper's index)
    requested_at = UnicodeAttribute(null=True)
    by_open_payout = OpenPayouts()


# --- mobile: devices, push, offline sync (issue 16) ---


class DeviceModel(BaseModel):
    """A person's push target in one workspace, and two kinds of small rows beside it:

    - devices: pk "<workspace_id>#<user_id>", sk "dev_<ULID>" (at most MAX_DEVICES per pk);
    - token claims: pk "token#<sha256 of platform:token>", sk "claim", `claim_owner` and
      `claim_device`: one owner per token (a phone that changes hands stops getting the old
      owner's pushes), and what makes registering the same token twice idempotent;
    - push markers: pk "push#<event_id>", sk "sent", `expires_at` (TTL): one push per event."""

    table_suffix = "devices"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    owner = UnicodeAttribute(hash_key=True)
    device_id = UnicodeAttribute(range_key=True)
    workspace_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    platform = UnicodeAttribute(null=True)  # ios | android | expo
    token = UnicodeAttribute(null=True)
    token_hash = UnicodeAttribute(null=True)
    endpoint_arn = UnicodeAttribute(null=True)  # ios/android: the SNS platform endpoint
    created_at = UTCDateTimeAttribute(null=True)
    claim_owner = UnicodeAttribute(null=True)
    claim_device = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class SyncChangesByTime(GlobalSecondaryIndex["SyncChangeModel"]):
    """A workspace's synced records by the time they last changed: a pull is one Query of
    `changed_ms > last_pulled_at` (one partition per workspace: its own ceiling)."""

    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    workspace_id = UnicodeAttribute(hash_key=True)
    changed_ms = NumberAttribute(range_key=True)


class SyncChangeModel(BaseModel):
    """The offline-sync change log: one row per synced record (pk workspace, sk
    "<table>:<record id>"), touched in the same transaction as every change of the record, its
    deletion included (the tombstone: a touched record whose source row is gone). A pull reads
    the rows changed since the client's last pull and the records themselves by key."""

    table_suffix = "sync_changes"
    ttl_attribute = "expires_at"

    class Meta(_Meta):
        pass

    workspace_id = UnicodeAttribute(hash_key=True)
    record_key = UnicodeAttribute(range_key=True)
    changed_ms = NumberAttribute()
    created_ms = NumberAttribute(null=True)
    gone = BooleanAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # tombstones only: kept TOMBSTONE_DAYS
    by_time = SyncChangesByTime()


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
    TemplateModel,
    TemplateUsageModel,
    LibraryIndexModel,
    FolderModel,
    ShareModel,
    UploadModel,
    MembershipModel,
    InvitationModel,
    OutboxMailModel,
    WebhookEndpointModel,
    WebhookEventModel,
    WebhookDeliveryModel,
    BalanceAlertModel,
    ExportModel,
    IdentityModel,
    AnalyticsModel,
    CollectionModel,
    GalleryEntryModel,
    GalleryIndexModel,
    ReportCaseModel,
    ListingModel,
    MarketItemModel,
    EarningsModel,
    DeviceModel,
    SyncChangeModel,
)
