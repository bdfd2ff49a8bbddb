"""The five invariants of DESIGN.md, attacked: concurrency, replays, crashes, resets.

All of it runs against moto's server with one lock per request, so each DynamoDB call is
atomic as on AWS: any overspend here is our bug, not moto's.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from chalicelib import clock
from chalicelib.accounting.errors import Denied, DuplicateAdmission, RateLimitDenied
from chalicelib.accounting.ledger import adjust, get_wallet, reconcile_wallet
from chalicelib.accounting.maintenance import monthly_reset, release_stale_holds
from chalicelib.generation.worker import handle_dead_letters
from chalicelib.store.models import HoldModel, JobModel, LedgerEntryModel, WorkspaceModel
from tests.functional.accounting_helpers import UNLIMITED, admit
from tests.functional.helpers import call, drain, get_items_of, purge, receive, run_worker

UTC = UTC


def _ledger(ws: str) -> list[LedgerEntryModel]:
    return list(LedgerEntryModel.query(ws, consistent_read=True))


def _assert_conserved(ws: str) -> None:
    drift = reconcile_wallet(ws)
    assert drift.ok, drift
    assert get_wallet(ws).available >= 0


def test_64_threads_never_overspend_a_wallet_that_affords_100_jobs(make_tenant, frozen_clock):
    """64 threads released at once by a barrier, 4 attempts each: 256 admissions race for 100
    credits (the race is in the first rounds; more attempts per thread only add time)."""
    t = make_tenant(plan="free", limits=UNLIMITED)  # 50 allowance
    adjust(t.workspace_id, 50, reason="top to exactly 100", actor="test", now=clock.now())
    assert get_wallet(t.workspace_id).available == 100
    start = threading.Barrier(64)

    def attempt(_: int) -> list[str]:
        start.wait()
        out = []
        for _ in range(4):
            try:
                admit(t)
                out.append("admitted")
            except Denied as denied:
                out.append(denied.reason)
        return out

    with ThreadPoolExecutor(max_workers=64) as pool:
        outcomes = Counter(o for thread in pool.map(attempt, range(64)) for o in thread)
    assert outcomes["admitted"] == 100, outcomes
    assert set(outcomes) == {"admitted", "insufficient_credits"}
    wallet = get_wallet(t.workspace_id)
    assert wallet.available == 0 and wallet.held == 100
    holds = [e for e in _ledger(t.workspace_id) if e.type == "hold"]
    assert len(holds) == 100 and sum(int(e.held_delta) for e in holds) == 100
    _assert_conserved(t.workspace_id)


def test_rate_limit_of_5_per_minute_admits_exactly_5_under_concurrency(make_tenant, frozen_clock):
    t = make_tenant(limits={**UNLIMITED, "requests_per_minute_user": 5})

    def attempt(_: int) -> str:
        try:
            admit(t)
            return "admitted"
        except RateLimitDenied as denied:
            assert denied.retry_after >= 1
            return f"429:{denied.scope}"

    with ThreadPoolExecutor(max_workers=64) as pool:
        outcomes = Counter(pool.map(attempt, range(128)))
    assert outcomes == {"admitted": 5, "429:user": 123}
    # Still the same window 30 s later: nothing more.
    frozen_clock.advance(seconds=30)
    with pytest.raises(RateLimitDenied):
        admit(t)
    # Next window: the previous 5 still weigh in (sliding estimate), then free up.
    frozen_clock.advance(seconds=30)
    with pytest.raises(RateLimitDenied):
        admit(t)
    frozen_clock.advance(seconds=59)  # 59 s into the next window: 5 * 1/60 -> weight 1
    admitted = 0
    for _ in range(10):
        try:
            admit(t)
            admitted += 1
        except RateLimitDenied:
            break
    assert admitted == 4
    _assert_conserved(t.workspace_id)


def test_same_idempotency_key_10_times_concurrently_admits_once(make_tenant, frozen_clock):
    t = make_tenant(limits=UNLIMITED)

    def attempt(_: int) -> str:
        try:
            return admit(t, n=2, idempotency_key="idem:abc").job_id
        except DuplicateAdmission as dup:
            return dup.job_id

    with ThreadPoolExecutor(max_workers=10) as pool:
        job_ids = set(pool.map(attempt, range(10)))
    assert len(job_ids) == 1
    assert len([e for e in _ledger(t.workspace_id) if e.type == "hold"]) == 1
    assert get_wallet(t.workspace_id).held == 2
    _assert_conserved(t.workspace_id)


def test_http_idempotency_key_replays_and_conflicts(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    headers = {"Idempotency-Key": "order-42"}
    answers = [call(api, "POST", "/v1/jobs", t, {"prompt": "same", "n": 2}, headers=headers) for _ in range(10)]
    assert {a[0] for a in answers} == {202}
    assert len({a[1]["job"]["id"] for a in answers}) == 1
    assert all(a[2].get("Idempotent-Replayed") == "true" for a in answers[1:])
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["held"] == 2
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "different", "n": 2}, headers=headers)
    assert status == 409 and err["error"]["code"] == "idempotency_conflict"
    purge()


def _count_provider_calls(monkeypatch) -> list[str]:
    from chalicelib.generation.providers.local import LocalProvider

    calls: list[str] = []
    real = LocalProvider.generate

    def counting(self, request):
        calls.append(request.job_id)
        return real(self, request)

    monkeypatch.setattr(LocalProvider, "generate", counting)
    return calls


def test_same_sqs_message_10_times_concurrently_settles_once(api, make_tenant, monkeypatch):
    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "duplicated delivery", "n": 2})
    messages = receive()
    assert len(messages) == 1
    copies = [dict(messages[0], MessageId=f"{messages[0]['MessageId']}-{i}") for i in range(10)]
    calls = _count_provider_calls(monkeypatch)
    with ThreadPoolExecutor(max_workers=10) as pool:
        concurrent = list(pool.map(lambda m: run_worker([m]), copies))
    # In-progress duplicates fail their own record (they come back later); one runs the job.
    assert {"batchItemFailures": []} in concurrent
    for copy, result in zip(copies, concurrent, strict=True):
        assert result["batchItemFailures"] in ([], [{"itemIdentifier": copy["MessageId"]}])
    redelivered = [run_worker([m]) for m in copies]  # after it finished: the saved result, no rerun
    assert all(r == {"batchItemFailures": []} for r in redelivered)
    assert len(calls) == 2  # n=2 images, made once whatever the deliveries
    charges = [e for e in _ledger(t.workspace_id) if e.type == "charge"]
    assert len(charges) == 1 and charges[0].amount == -2
    job = JobModel.get(t.workspace_id, body["job"]["id"])
    assert job.status == "succeeded" and len(job.images) == 2
    _assert_conserved(t.workspace_id)
    purge()


def test_crash_between_provider_and_settlement_then_redelivery_charges_once(api, make_tenant, monkeypatch):
    import chalicelib.generation.worker as worker

    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "[crash:before_settle] fox", "n": 1})
    messages = receive()
    sooner: list[object] = []  # a crash keeps the queue's own visibility: a real one runs no code
    monkeypatch.setattr(worker, "_retry_sooner", sooner.append)
    first = run_worker(messages)
    assert first == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert sooner == []
    monkeypatch.undo()
    job = JobModel.get(t.workspace_id, body["job"]["id"])
    assert job.status == "running" and get_wallet(t.workspace_id).held == 1  # hold kept
    second = run_worker(messages)  # redelivery
    assert second == {"batchItemFailures": []}
    job = JobModel.get(t.workspace_id, body["job"]["id"])
    assert job.status == "succeeded" and len(job.images) == 1
    assert len([e for e in _ledger(t.workspace_id) if e.type == "charge"]) == 1
    _assert_conserved(t.workspace_id)
    purge()


def test_provider_failure_releases_hold(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "[fail:always] nope", "n": 3})
    drain()
    job = JobModel.get(t.workspace_id, body["job"]["id"])
    assert job.status == "failed" and job.error["code"] == "provider_error"
    wallet = get_wallet(t.workspace_id)
    assert wallet.held == 0 and wallet.period_spent == 0
    _assert_conserved(t.workspace_id)


def test_transient_provider_errors_are_retried_and_succeed(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "[fail:transient] flaky", "n": 2})
    drain()
    job = JobModel.get(t.workspace_id, body["job"]["id"])
    assert job.status == "succeeded" and len(job.images) == 2


def test_dead_lettered_job_fails_with_code_and_releases_once(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "doomed", "n": 2})
    event = {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "r",
                "body": json.dumps({"workspace_id": t.workspace_id, "job_id": body["job"]["id"]}),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:dlq",
                "awsRegion": "us-east-1",
            }
        ]
    }
    assert handle_dead_letters(event, None) == {"released": 1}
    assert handle_dead_letters(event, None) == {"released": 0}
    job = JobModel.get(t.workspace_id, body["job"]["id"])
    assert job.status == "failed" and job.error["code"] == "dead_lettered"
    assert get_wallet(t.workspace_id).held == 0
    drain()  # the original message: the worker skips a terminal job
    assert JobModel.get(t.workspace_id, body["job"]["id"]).status == "failed"
    _assert_conserved(t.workspace_id)


def test_negative_adjustment_never_makes_available_negative(make_tenant):
    t = make_tenant(plan="free")  # 50
    from chalicelib.accounting.errors import InsufficientForAdjustment

    with pytest.raises(InsufficientForAdjustment):
        adjust(t.workspace_id, -51, reason="too much", actor="test", now=clock.now())
    adjust(t.workspace_id, -50, reason="all of it", actor="test", now=clock.now())
    assert get_wallet(t.workspace_id).available == 0
    _assert_conserved(t.workspace_id)


def test_banned_workspace_is_refused_at_admission(api, make_tenant, admin):
    purge()
    t = make_tenant()
    status, _, _ = call(api, "POST", f"/admin/api/workspaces/{t.workspace_id}/ban", admin, {"reason": "abuse"})
    assert status == 200
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "x"})
    assert status == 403 and err["error"]["code"] == "account_banned"
    # Even a request that got past auth before the ban is refused by the wallet condition.
    with pytest.raises(Denied) as denied:
        admit(t)
    assert denied.value.reason == "banned"
    call(api, "POST", f"/admin/api/workspaces/{t.workspace_id}/unban", admin, {"reason": "appeal ok"})
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "x"})[0] == 202
    purge()


def test_stale_holds_are_released_once(make_tenant, frozen_clock):
    t = make_tenant(limits=UNLIMITED)
    admission = admit(t, n=3)
    frozen_clock.advance(hours=2)
    with get_items_of(JobModel) as reads:  # the job is read strongly consistent: a replica may say queued
        released = release_stale_holds(clock.now(), max_age_s=3600)
    assert admission.job_id in released
    assert [
        (r["Key"]["job_id"]["S"], r.get("ConsistentRead")) for r in reads if r["Key"]["workspace_id"]["S"] == t.workspace_id
    ] == [(admission.job_id, True)]
    assert admission.job_id not in release_stale_holds(clock.now(), max_age_s=3600)
    job = JobModel.get(t.workspace_id, admission.job_id)
    assert job.status == "failed" and job.error["code"] == "timeout"
    assert get_wallet(t.workspace_id).held == 0
    _assert_conserved(t.workspace_id)


def test_month_boundary_between_admission_and_settlement(api, make_tenant, frozen_clock):
    purge()
    frozen_clock.set(datetime(2026, 10, 31, 23, 59, 50, tzinfo=UTC))
    t = make_tenant(plan="free", limits=UNLIMITED)  # 50 for October
    call(api, "POST", "/v1/jobs", t, {"prompt": "late october", "n": 4})
    call(api, "POST", "/v1/jobs", t, {"prompt": "late october 2", "n": 4})
    frozen_clock.set(datetime(2026, 11, 1, 0, 0, 30, tzinfo=UTC))
    status, _, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "first of november", "n": 1})
    assert status == 202  # rolled over on this request; October's unused allowance expired
    drain()
    wallet = get_wallet(t.workspace_id)
    assert wallet.period == "2026-11" and wallet.held == 0
    assert wallet.available == 50 + 8 - 9  # the 8 held in flight were kept, then spent
    _assert_conserved(t.workspace_id)


def test_idle_for_three_months_then_active(api, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 7, 10, tzinfo=UTC))
    t = make_tenant(plan="free")
    adjust(t.workspace_id, 7, reason="bought", actor="test", now=clock.now())
    frozen_clock.set(datetime(2026, 11, 2, tzinfo=UTC))
    status, balance, _ = call(api, "GET", "/v1/balance", t)
    assert status == 200 and balance["period"] == "2026-11"
    assert balance["allowance"] == {"granted": 50, "used": 0, "remaining": 50} and balance["purchased"] == 7
    grants = [e for e in _ledger(t.workspace_id) if e.type == "grant"]
    assert sorted(e.period for e in grants) == ["2026-07", "2026-11"]
    _assert_conserved(t.workspace_id)


def test_monthly_reset_twice_late_and_concurrently_changes_nothing_more(fresh_aws, frozen_clock, make_tenant):
    frozen_clock.set(datetime(2026, 10, 20, tzinfo=UTC))
    active = [make_tenant(plan="free", limits=UNLIMITED) for _ in range(3)]
    idle = make_tenant(plan="free")
    for t in active:
        admit(t, n=2)
    frozen_clock.set(datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda _: monthly_reset(clock.now()), range(4)))
    assert sum(r.rolled_over for r in reports) == 3
    assert [r.considered for r in reports] == [3, 3, 3, 3]  # last month's active wallets, never the idle one
    frozen_clock.set(datetime(2026, 11, 3, tzinfo=UTC))  # late, again
    late = monthly_reset(clock.now())
    assert (late.considered, late.rolled_over, late.workspaces) == (3, 0, [])
    for t in active:
        w = get_wallet(t.workspace_id)
        assert w.period == "2026-11" and w.held == 2 and w.available == 50
        assert len([e for e in _ledger(t.workspace_id) if e.type == "grant" and e.period == "2026-11"]) == 1
        grants = {e.period: e for e in _ledger(t.workspace_id) if e.type == "grant"}  # the opening one and the rollover's
        assert [(grants[p].reason, grants[p].source) for p in ("2026-10", "2026-11")] == [
            ("plan allowance", "allowance:2026-10"),
            ("plan allowance", "allowance:2026-11"),
        ]
        _assert_conserved(t.workspace_id)
    assert get_wallet(idle.workspace_id).period == "2026-10"  # idle wallets are not touched


def test_admin_credit_adjustment_is_audited_and_in_ledger(api, make_tenant, admin):
    t = make_tenant(plan="free")
    status, body, _ = call(
        api, "POST", f"/admin/api/workspaces/{t.workspace_id}/credits", admin, {"amount": 25, "reason": "goodwill"}
    )
    assert status == 201 and body["entry"]["amount"] == 25
    status, err, _ = call(
        api, "POST", f"/admin/api/workspaces/{t.workspace_id}/credits", admin, {"amount": -1000, "reason": "too much"}
    )
    assert status == 409 and err["error"]["available"] == 75
    status, err, _ = call(api, "POST", f"/admin/api/workspaces/{t.workspace_id}/credits", t, {"amount": 5, "reason": "me"})
    assert status == 403
    status, detail, _ = call(api, "GET", f"/admin/api/workspaces/{t.workspace_id}", admin)
    audit = [a for a in detail["audit"] if a["action"] == "credits.adjust"]
    assert audit and audit[0]["before"] == {"available": 50} and audit[0]["after"] == {"available": 75}
    assert audit[0]["reason"] == "goodwill"
    _assert_conserved(t.workspace_id)


def test_hold_rows_are_settled_not_left_open(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "settle me", "n": 1})
    drain()
    hold = HoldModel.get(f"{t.workspace_id}#{body['job']['id']}")
    assert hold.status == "settled" and hold.open_shard is None
    ws = WorkspaceModel.get(t.workspace_id)
    assert ws.status == "active"


def test_admin_grant_with_idempotency_key_grants_once(api, make_tenant, admin):
    t = make_tenant(plan="free")
    path = f"/admin/api/workspaces/{t.workspace_id}/credits"
    headers = {"Idempotency-Key": "grant-2026-11-25-1"}
    first = call(api, "POST", path, admin, {"amount": 100, "reason": "promo"}, headers=headers)
    again = [call(api, "POST", path, admin, {"amount": 100, "reason": "promo"}, headers=headers) for _ in range(4)]
    assert first[0] == 201 and all(a[0] == 201 and a[1] == first[1] for a in again)
    assert all(a[2].get("Idempotent-Replayed") == "true" for a in again)
    assert get_wallet(t.workspace_id).available == 150
    status, err, _ = call(api, "POST", path, admin, {"amount": 5, "reason": "other"}, headers=headers)
    assert status == 409 and err["error"]["code"] == "idempotency_conflict"
    # Another key grants again; the same key from another caller is a different request.
    assert call(api, "POST", path, admin, {"amount": 100, "reason": "promo"}, headers={"Idempotency-Key": "k2"})[0] == 201
    assert get_wallet(t.workspace_id).available == 250
    _assert_conserved(t.workspace_id)


def test_job_replay_returns_the_first_response(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    headers = {"Idempotency-Key": "job-1"}
    status, first, h1 = call(api, "POST", "/v1/jobs", t, {"prompt": "replay", "n": 1}, headers=headers)
    drain()  # the job has run meanwhile
    status2, replay, h2 = call(api, "POST", "/v1/jobs", t, {"prompt": "replay", "n": 1}, headers=headers)
    assert status == status2 == 202 and replay == first and replay["job"]["status"] == "queued"
    assert h2["Idempotent-Replayed"] == "true" and h2["RateLimit-Limit"] == h1["RateLimit-Limit"]
    assert len([e for e in _ledger(t.workspace_id) if e.type == "charge"]) == 1
    bad = call(api, "POST", "/v1/jobs", t, {"prompt": "replay"}, headers={"Idempotency-Key": "x" * 300})
    assert bad[0] == 400


def test_reconcile_reads_only_the_jobs_whose_hold_is_still_open(api, make_tenant):
    """The running-slot check reads a job only while its hold is open: a charged or released job
    costs reconcile no read, however many there are (a busy wallet stays cheap to check)."""
    from chalicelib.store.request_counter import RequestCounter

    purge()
    t = make_tenant(limits=UNLIMITED)
    for n in range(3):
        assert call(api, "POST", "/v1/jobs", t, {"prompt": f"charged {n}"})[0] == 202
    drain()  # three charged
    for n in range(3):
        _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": f"released {n}"})
        assert call(api, "POST", f"/v1/jobs/{body['job']['id']}/cancel", t)[0] == 200
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "still queued"})[0] == 202  # its hold is open
    types = Counter(e.type for e in _ledger(t.workspace_id))
    assert (types["charge"], types["release"], types["hold"]) == (3, 3, 7)
    counter = RequestCounter()
    counter.install()
    try:
        drift = reconcile_wallet(t.workspace_id)
    finally:
        counter.uninstall()
    purge()
    assert drift.ok, drift
    assert counter.calls == Counter({"GetItem": 3, "Query": 1})  # the wallet twice, the ledger, the open job


def test_the_scheduled_reconcile_reports_a_wallet_whose_held_left_its_ledger(fresh_aws, make_tenant):
    """Every wallet checked; one whose stored `held` was changed without a ledger entry (what a
    bug or a hand edit would do) is reported with both figures, the others are not."""
    from chalicelib.accounting.maintenance import reconcile
    from chalicelib.store.models import WalletModel

    good, bad = make_tenant(limits=UNLIMITED), make_tenant(limits=UNLIMITED)
    for t in (good, bad):
        admit(t, n=2)
    assert reconcile() == {"wallets": 2, "drifted": 0, "drift": []}
    WalletModel(bad.workspace_id).update(actions=[WalletModel.held.add(5)])
    report = reconcile()
    assert (report["wallets"], report["drifted"]) == (2, 1)
    (drift,) = report["drift"]
    assert (drift["workspace_id"], drift["held"], drift["ledger_held"]) == (bad.workspace_id, 7, 2), drift
    assert drift["problems"], drift
