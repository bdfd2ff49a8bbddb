"""Two paths racing to end one hold: whichever resolves it first wins, the other changes nothing.

The stale-hold sweeper releases a job whose worker is slow but alive; the worker then settles.
Without the hold-status condition in the settlement transaction, `held` would go below zero and
the failed job would be charged (Powertools idempotency cannot help: these are different paths).
"""

from __future__ import annotations

from chalicelib import clock
from chalicelib.accounting.ledger import get_wallet, reconcile_wallet
from chalicelib.accounting.maintenance import release_stale_holds
from chalicelib.accounting.running import start_job
from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
from chalicelib.store.models import HoldModel, JobModel, LedgerEntryModel
from tests.functional.accounting_helpers import UNLIMITED, admit


def _types(workspace_id: str) -> list[str]:
    return sorted(e.type for e in LedgerEntryModel.query(workspace_id, consistent_read=True) if e.job_id)


def test_the_sweeper_releases_first_then_a_late_settlement_charges_nothing(make_tenant, frozen_clock):
    t = make_tenant(limits={**UNLIMITED, "max_concurrent_jobs": 3})
    admission = admit(t, n=3)
    job = start_job(t.workspace_id, admission.job_id, clock.now()).job
    assert job is not None and job.slot
    before = get_wallet(t.workspace_id)
    frozen_clock.advance(hours=2)
    assert admission.job_id in release_stale_holds(clock.now(), max_age_s=3600)
    now = clock.now()
    late = settle_job(job, Usage(images=3, credits=3), JobFinal("succeeded", now), now)
    assert not late.applied and late.hold_status == "resolved"
    after = get_wallet(t.workspace_id)
    assert int(after.held) == 0 and int(after.running_jobs) == 0 and int(after.active_jobs) == 0
    assert int(after.period_spent) == int(before.period_spent)  # the failed job is not charged
    assert int(after.available) == int(before.available) + admission.credits
    stored = JobModel.get(t.workspace_id, admission.job_id)
    assert stored.status == "failed" and stored.error["code"] == "timeout" and not stored.images
    assert _types(t.workspace_id) == ["hold", "release"]
    assert reconcile_wallet(t.workspace_id).ok


def test_a_settlement_first_then_the_sweeper_releases_nothing(make_tenant, frozen_clock):
    t = make_tenant(limits=UNLIMITED)
    admission = admit(t, n=2)
    job = start_job(t.workspace_id, admission.job_id, clock.now()).job
    now = clock.now()
    assert settle_job(job, Usage(images=2, credits=2), JobFinal("succeeded", now), now).applied
    frozen_clock.advance(hours=2)
    assert admission.job_id not in release_stale_holds(clock.now(), max_age_s=3600)
    again = release_job(job, JobFinal("failed", clock.now()), clock.now(), reason="stale_hold")
    assert not again.applied
    wallet = get_wallet(t.workspace_id)
    assert int(wallet.held) == 0 and int(wallet.period_spent) >= 2
    assert JobModel.get(t.workspace_id, admission.job_id).status == "succeeded"
    assert _types(t.workspace_id) == ["charge", "hold"]
    assert reconcile_wallet(t.workspace_id).ok


def test_the_hold_row_ends_in_exactly_the_state_of_the_path_that_won(make_tenant):
    t = make_tenant(limits=UNLIMITED)
    admission = admit(t)
    job = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)
    now = clock.now()
    assert release_job(job, JobFinal("canceled", now), now, reason="canceled").applied
    assert not settle_job(job, Usage(images=1, credits=1), JobFinal("succeeded", now), now).applied
    hold = HoldModel.get(f"{t.workspace_id}#{job.job_id}", consistent_read=True)
    assert hold.status == "released" and hold.open_shard is None


def test_a_failed_job_that_cost_the_provider_something_adds_that_cost_to_its_rollups(make_tenant):
    """release_job's `cost_micro_usd`: what a failed call still cost us is in the day's rollups
    (the spend dashboards), with the failure, and the customer is charged nothing."""
    from chalicelib.accounting.periods import day_of
    from chalicelib.store.models import RollupModel

    t = make_tenant(limits=UNLIMITED)
    admission = admit(t, n=1)
    job = start_job(t.workspace_id, admission.job_id, clock.now()).job
    now = clock.now()
    assert release_job(job, JobFinal("failed", now), now, reason="provider_error", cost_micro_usd=1_234).applied
    row = RollupModel.get(f"WS#{t.workspace_id}", day_of(now), consistent_read=True)
    assert (int(row.failed or 0), int(row.cost_micro_usd or 0), int(row.credits or 0)) == (1, 1_234, 0)
    assert reconcile_wallet(t.workspace_id).ok
