"""The scheduled jobs of the accounting core; each is safe to run twice, late or concurrently."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.accounting import keys
from chalicelib.accounting.ledger import reconcile_all, roll_over
from chalicelib.accounting.periods import period_of, previous_period
from chalicelib.accounting.plans import get_plan
from chalicelib.accounting.running import waiting_on_purpose
from chalicelib.accounting.settlement import JobFinal, release_job
from chalicelib.store.fanout import fan_out
from chalicelib.store.models import HoldModel, JobModel, WalletModel

TERMINAL = ("succeeded", "failed", "canceled")


@dataclass
class ResetReport:
    period: str
    considered: int = 0
    rolled_over: int = 0
    workspaces: list[str] = field(default_factory=list)


def monthly_reset(now: datetime) -> ResetReport:
    """Roll over every wallet that was active last period to the current one.

    Reads the sparse `by_activity` index for last period's active wallets only (its
    ACTIVITY_SHARDS keys in parallel, plus the unsharded one older wallets carry), so its
    requests grow with active workspaces, never with idle ones (those roll over lazily on
    their next request). Each rollover is conditioned on the old period: a second run, a
    late run or a concurrent run changes nothing more.
    """
    period = period_of(now)
    report = ResetReport(period)
    shards = fan_out(lambda key: list(WalletModel.by_activity.query(key)), keys.activity_keys(previous_period(period)))
    for row in (row for rows in shards for row in rows):
        report.considered += 1
        wallet = WalletModel.get(row.workspace_id, consistent_read=True)
        if roll_over(row.workspace_id, period, get_plan(wallet.plan).monthly_allowance, now):
            report.rolled_over += 1
            report.workspaces.append(row.workspace_id)
    return report


def release_stale_holds(now: datetime, max_age_s: int) -> list[str]:
    """Release holds older than the worker's lifetime: their jobs died without a word."""
    cutoff = int((now - timedelta(seconds=max_age_s)).timestamp())
    released: list[str] = []
    for hold in stale_holds(cutoff):
        try:
            job = JobModel.get(hold.workspace_id, hold.job_id, consistent_read=True)
        except JobModel.DoesNotExist:
            continue
        if waiting_on_purpose(job, now):
            continue  # queued behind its workspace's running cap or a provider's quota
        final = JobFinal(
            "failed", now, error={"code": "timeout", "message": "the job did not finish within the worker's lifetime"}
        )
        outcome = release_job(job, final, now, reason="stale_hold", job_condition=~JobModel.status.is_in(*TERMINAL))
        if outcome.applied:
            released.append(job.job_id)
    return released


def stale_holds(cutoff_epoch: int) -> list[HoldModel]:
    """Open holds created before the cutoff, from every shard of the open-holds index (one query
    per shard, in parallel)."""
    shards = fan_out(
        lambda key: list(HoldModel.by_open.query(key, HoldModel.created_epoch < cutoff_epoch)),
        (f"open#{n}" for n in range(keys.HOLD_SHARDS)),
    )
    return [hold for holds in shards for hold in holds]


def reconcile() -> dict[str, object]:
    """Re-sum every wallet's ledger; report the wallets that drifted (expected: none)."""
    drifts = reconcile_all()
    bad = [d for d in drifts if not d.ok]
    return {
        "wallets": len(drifts),
        "drifted": len(bad),
        "drift": [d.__dict__ for d in bad],
    }
