"""Spend caps of keys (per day, per month) and members (per month), enforced inside admission:
exactly the cap under concurrency, released with the hold, and 402 `quota_exceeded` naming the cap."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from chalicelib import clock
from chalicelib.accounting.admission import AdmissionRequest, SpendCaps, admit_job
from chalicelib.accounting.errors import Denied
from chalicelib.accounting.keys import cap_key
from chalicelib.accounting.ledger import reconcile_wallet
from chalicelib.accounting.periods import day_of, period_of
from chalicelib.accounting.plans import effective_limits
from chalicelib.store.models import CounterModel, JobModel, MembershipModel, WorkspaceModel
from tests.functional.accounting_helpers import UNLIMITED, new_job
from tests.functional.helpers import call, drain, purge


def _counter(key: str) -> int:
    try:
        return int(CounterModel.get(key, consistent_read=True).credits or 0)
    except CounterModel.DoesNotExist:
        return 0


def _hammer(t, caps: SpendCaps, threads: int, attempts: int, key_ids: list[str] | None = None) -> Counter:
    ws = WorkspaceModel.get(t.workspace_id)
    limits = effective_limits(ws.plan, ws.limits)
    start = threading.Barrier(threads)

    def attempt(n: int) -> list[str]:
        start.wait()
        out = []
        for _ in range(attempts):
            job = new_job(t)
            if key_ids:
                job.key_id = key_ids[n % len(key_ids)]
            try:
                admit_job(AdmissionRequest(job, ws.plan, limits, job.job_id, "h", clock.now(), caps))
                out.append("admitted")
            except Denied as denied:
                out.append(str(denied.details.get("quota", denied.reason)))
        return out

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return Counter(o for thread in pool.map(attempt, range(threads)) for o in thread)


def test_threads_hammering_one_capped_key_admit_exactly_the_cap(make_tenant, frozen_clock):
    t = make_tenant(plan="pro", limits=UNLIMITED)
    outcomes = _hammer(t, SpendCaps(key_per_day=20), threads=32, attempts=2)
    assert outcomes == {"admitted": 20, "key_credits_per_day": 44}, outcomes
    assert _counter(cap_key("key_credits_per_day", t.key_id, day_of(clock.now()))) == 20
    assert reconcile_wallet(t.workspace_id).ok


def test_a_member_cap_binds_across_their_keys_under_concurrency(make_tenant, frozen_clock):
    t = make_tenant(plan="pro", limits=UNLIMITED)
    outcomes = _hammer(t, SpendCaps(member_per_month=15), threads=24, attempts=2, key_ids=["key_a", "key_b", "key_c"])
    assert outcomes == {"admitted": 15, "member_credits_per_month": 33}, outcomes
    member = cap_key("member_credits_per_month", f"{t.workspace_id}#{t.user_id}", period_of(clock.now()))
    assert _counter(member) == 15


def test_a_job_larger_than_a_cap_is_refused_before_any_write(make_tenant, frozen_clock):
    t = make_tenant(plan="pro", limits=UNLIMITED)
    ws = WorkspaceModel.get(t.workspace_id)
    job = new_job(t, n=4)
    try:
        admit_job(
            AdmissionRequest(
                job, ws.plan, effective_limits(ws.plan, ws.limits), job.job_id, "h", clock.now(), SpendCaps(key_per_month=3)
            )
        )
    except Denied as denied:
        assert denied.reason == "quota_exceeded" and denied.details["quota"] == "key_credits_per_month"
    else:
        raise AssertionError("admitted above the cap")
    assert _counter(cap_key("key_credits_per_month", t.key_id, period_of(clock.now()))) == 0


def _key(api, t, **caps) -> dict[str, str]:
    status, made, _ = call(api, "POST", "/v1/keys", t, {"name": "capped", **caps})
    assert status == 201, made
    return {"Authorization": f"Bearer {made['secret']}"}


def test_http_a_capped_key_gets_402_naming_its_cap_and_a_failed_job_gives_its_credits_back(api, make_tenant):
    purge()
    t = make_tenant(plan="pro", limits=UNLIMITED)
    capped = _key(api, t, credits_per_day=3)
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "[fail:always] no", "n": 2}, headers=capped)[0] == 202
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "one"}, headers=capped)[0] == 202
    status, err, _ = call(api, "POST", "/v1/jobs", None, {"prompt": "over"}, headers=capped)
    assert status == 402 and err["error"]["code"] == "quota_exceeded", err
    assert err["error"]["quota"] == "key_credits_per_day"
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "the owner's own key is not capped"})[0] == 202
    drain()  # the failed job releases its hold, and its 2 credits of the cap with it
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "again", "n": 2}, headers=capped)[0] == 202
    status, err, _ = call(api, "POST", "/v1/jobs", None, {"prompt": "over"}, headers=capped)
    assert status == 402 and err["error"]["quota"] == "key_credits_per_day"
    drain()
    assert reconcile_wallet(t.workspace_id).ok


def test_http_monthly_key_cap_and_member_cap(api, make_tenant):
    purge()
    t = make_tenant(plan="pro", limits=UNLIMITED)
    monthly = _key(api, t, credits_per_month=1)
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "one"}, headers=monthly)[0] == 202
    status, err, _ = call(api, "POST", "/v1/jobs", None, {"prompt": "two"}, headers=monthly)
    assert (status, err["error"]["quota"]) == (402, "key_credits_per_month")
    MembershipModel(t.workspace_id, t.user_id).update(actions=[MembershipModel.credits_per_month.set(2)])
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "member's second credit"})
    assert status == 202, body
    assert JobModel.get(t.workspace_id, body["job"]["id"]).spend_counters  # what settlement corrects
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "third"})
    assert (status, err["error"]["quota"]) == (402, "member_credits_per_month")
    drain()
