"""Keys every job of the platform writes, sharded (DESIGN.md "Scale"): admission's provider
window and the workers' provider quota (a large limit held by shards whose limits sum to it:
never more admitted, and no refusal while a shard the job could try has room), and the wallets'
`by_activity` index that a month's first admissions all write."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.accounting import admission, plans, ratelimit
from chalicelib.accounting.errors import RateLimitDenied
from chalicelib.store.models import CounterModel
from tests.functional.accounting_helpers import UNLIMITED, admit

_minutes = itertools.count(1)


@pytest.fixture
def sharded_local(monkeypatch: pytest.MonkeyPatch, frozen_clock) -> Iterator[int]:
    """The local provider at 10 jobs a minute over 3 shards (4 + 3 + 3), in a minute of its own
    (the tables are shared with the other tests of this process) and with nothing learned."""
    monkeypatch.setattr(ratelimit, "SHARD_ADMISSIONS_PER_MINUTE", 4)
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(10, None))
    assert ratelimit.shard_count(10) == 3
    frozen_clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC) + timedelta(minutes=5 * next(_minutes)))
    admission.reset_caches()
    yield 10
    admission.reset_caches()


def _attempt(tenant) -> str:
    try:
        admit(tenant)
        return "admitted"
    except RateLimitDenied as denied:
        assert denied.retry_after >= 1
        return f"429:{denied.scope}"


def _window_counts(index: int) -> list[int]:
    keys = [f"RL#p#local#{k}#{index}" for k in range(3)]
    return [int(row.n or 0) for row in CounterModel.batch_get(keys)]


def test_threads_on_a_sharded_provider_admit_exactly_the_limit(aws, make_tenant, frozen_clock, sharded_local):
    tenants = [make_tenant(limits=UNLIMITED) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = Counter(pool.map(lambda i: _attempt(tenants[i % 4]), range(48)))
    assert outcomes == {"admitted": 10, "429:provider": 38}
    index = int(frozen_clock.now().timestamp() * 1000) // ratelimit.WINDOW_MS
    assert sorted(_window_counts(index)) == [3, 3, 4]  # each shard full, none past its part


def test_a_new_process_finds_the_shards_with_room(aws, make_tenant, frozen_clock, sharded_local):
    """After a restart (nothing learned) admissions hashing to full shards move on to the one
    with room instead of answering 429 while it is free."""
    tenant = make_tenant(limits=UNLIMITED)
    admitted = Counter(_attempt(tenant) for _ in range(7))
    assert admitted["admitted"] == 7
    admission.reset_caches()  # a fresh container: it knows no window's count
    outcomes = Counter(_attempt(tenant) for _ in range(6))
    assert outcomes == {"admitted": 3, "429:provider": 3}
    index = int(frozen_clock.now().timestamp() * 1000) // ratelimit.WINDOW_MS
    assert sum(_window_counts(index)) == 10


def test_the_sliding_estimate_holds_per_shard_in_the_next_window(aws, make_tenant, frozen_clock, sharded_local):
    tenant = make_tenant(limits=UNLIMITED)
    assert Counter(_attempt(tenant) for _ in range(12)) == {"admitted": 10, "429:provider": 2}
    frozen_clock.advance(seconds=60 - frozen_clock.now().second + 30)  # half-way into the next window
    # Each shard's previous count weighs half: 4 -> 2 of 4 taken, 3 -> 2 of 3: 2 + 1 + 1 left.
    assert Counter(_attempt(tenant) for _ in range(8)) == {"admitted": 4, "429:provider": 4}


def test_the_workers_sharded_provider_quota_is_used_to_the_last_image(aws, monkeypatch, frozen_clock):
    """The workers' images-per-minute window, split the same way: takes move on from full shards
    and never pass any shard's part; once this process knows every shard is full it waits
    without asking DynamoDB."""
    from chalicelib.accounting import provider_quota

    # A minute no other test (nor an earlier run in this process: mutmut reruns in-process) uses.
    frozen_clock.set(datetime(2032, 1, 1, 0, 0, 15, tzinfo=UTC) + timedelta(minutes=random.randrange(10**6)))
    monkeypatch.setattr(provider_quota, "SHARD_IMAGES_PER_MINUTE", 4)
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(100_000, 10))
    provider_quota.reset()
    slots = [provider_quota.take("local", 1, frozen_clock.now(), spread=f"job{i}") for i in range(10)]
    assert all(slot.taken for slot in slots)  # 10 images of a quota of 10, whatever the hashing
    window, _ = provider_quota.window_of(frozen_clock.now())
    keys = [provider_quota.window_key("local", window, k) for k in range(3)]
    assert sorted(int(row.n) for row in CounterModel.batch_get(keys)) == [3, 3, 4]
    full = provider_quota.take("local", 1, frozen_clock.now(), spread="job10")
    assert not full.taken and 45 <= full.wait_s <= 50
    assert provider_quota._full == set(keys)
    with monkeypatch.context() as patch:
        patch.setattr(CounterModel, "update", _refuse)
        assert not provider_quota.take("local", 1, frozen_clock.now(), spread="job11").taken
    provider_quota.reset()


def _refuse(*args, **kwargs):
    raise AssertionError("a take known to be refused asked DynamoDB")


def test_the_monthly_reset_finds_wallets_in_every_activity_shard_and_the_unsharded_ones(fresh_aws, frozen_clock, make_tenant):
    from chalicelib.accounting import keys
    from chalicelib.accounting.ledger import get_wallet
    from chalicelib.accounting.maintenance import monthly_reset
    from chalicelib.store.models import WalletModel

    frozen_clock.set(datetime(2026, 10, 20, tzinfo=UTC))
    active = [make_tenant(plan="free", limits=UNLIMITED) for _ in range(6)]
    for t in active:
        admit(t)
    written = {WalletModel.get(t.workspace_id).last_active for t in active}
    assert written == {keys.activity_key("2026-10", t.workspace_id) for t in active}
    assert len(written) > 1  # spread over shards, not one key
    legacy = make_tenant(plan="free", limits=UNLIMITED)  # active before the shards existed
    WalletModel(legacy.workspace_id).update(actions=[WalletModel.last_active.set("2026-10")])
    frozen_clock.set(datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    report = monthly_reset(frozen_clock.now())
    assert sorted(report.workspaces) == sorted(t.workspace_id for t in [*active, legacy])
    assert all(get_wallet(t.workspace_id).period == "2026-11" for t in [*active, legacy])


def test_a_job_hashed_to_a_shard_others_filled_moves_on_to_the_one_with_room(aws, make_tenant, frozen_clock, sharded_local):
    """Other containers filled shards 0 and 1 (this one learned nothing): a job whose id hashes
    to shard 0 is refused there, and the refusal sends it on to shard 2 instead of answering 429."""
    import zlib

    from chalicelib.accounting.admission import AdmissionRequest, admit_job
    from chalicelib.accounting.plans import effective_limits
    from chalicelib.store.models import WorkspaceModel
    from tests.functional.accounting_helpers import new_job

    tenant = make_tenant(limits=UNLIMITED)
    index = int(frozen_clock.now().timestamp() * 1000) // ratelimit.WINDOW_MS
    for k, full in ((0, 4), (1, 3)):
        CounterModel(f"RL#p#local#{k}#{index}", n=full).save()
    ws = WorkspaceModel.get(tenant.workspace_id)
    job = next(j for j in (new_job(tenant) for _ in range(100)) if zlib.crc32(j.job_id.encode()) % 3 == 0)
    request = AdmissionRequest(job, ws.plan, effective_limits(ws.plan, ws.limits), job.job_id, "h", frozen_clock.now())
    assert admit_job(request) is not None
    counts = {k: int(CounterModel.get(f"RL#p#local#{k}#{index}", consistent_read=True).n) for k in range(3)}
    assert counts == {0: 4, 1: 3, 2: 1}


def test_a_window_another_container_filled_answers_the_exact_retry_after(aws, make_tenant, frozen_clock):
    """This container knows nothing of the workspace's window that others filled (5 of 5): the
    refused transaction's own count gives Retry-After (42 s at second 30: the window ends in 30,
    then its 5 must weigh 4 or less), each time it is asked."""
    frozen_clock.set(datetime(2026, 11, 24, 15, 0, 30, tzinfo=UTC) + timedelta(minutes=5 * next(_minutes)))
    tenant = make_tenant(limits=dict(UNLIMITED, requests_per_minute_workspace=5))
    admission.reset_caches()
    assert Counter(_attempt(tenant) for _ in range(5)) == {"admitted": 5}
    admission.reset_caches()  # another container: it learned nothing of this window
    try:
        for _ in range(2):
            with pytest.raises(RateLimitDenied) as refused:
                admit(tenant)
            assert (refused.value.scope, refused.value.retry_after, refused.value.limit) == ("workspace", 42, 5)
    finally:
        admission.reset_caches()


def test_a_window_counter_expires_a_window_after_it_can_be_read_as_the_previous_one(aws, make_tenant, frozen_clock):
    """Window w is read as the previous window during w + 1: its row expires at the end of w + 2
    (DynamoDB's TTL deletes late, never early), so no estimate ever misses it."""
    from chalicelib.accounting import keys

    frozen_clock.set(datetime(2026, 11, 24, 16, 0, 10, tzinfo=UTC) + timedelta(minutes=5 * next(_minutes)))
    tenant = make_tenant(limits=UNLIMITED)
    admit(tenant)
    index = int(frozen_clock.now().timestamp() * 1000) // ratelimit.WINDOW_MS
    row = CounterModel.get(f"{keys.rate_key('w', tenant.workspace_id)}#{index}", consistent_read=True)
    assert (int(row.n), int(row.expires_at)) == (1, (index + 3) * ratelimit.WINDOW_MS // 1000)
