"""Running slots: at most `max_concurrent_jobs` jobs of a workspace run at once.

Admission caps how many jobs a workspace may have admitted and unfinished (`max_queued_jobs`,
the wallet's `active_jobs`); this module caps how many of them *run*. The worker takes a slot
when it starts a job, in ONE transaction that moves the job `queued → running` and adds 1 to the
wallet's `running_jobs` under `running_jobs < cap`; the settlement or release that ends the job
gives the slot back in its own transaction (`slot` on the job says it holds one, so a slot is
returned exactly once). A job that finds the workspace full is not failed: the worker sends its
message back with a delay and the job stays queued, hold and all.

Invariant: `running_jobs` == the number of the workspace's unfinished
jobs with `slot` set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.store.models import JobModel, WalletModel, job_status_shard
from chalicelib.store.transaction import Transaction, TransactionCancelled

TERMINAL = ("succeeded", "failed", "canceled")
DEFER_BASE_S = 5  # a slot frees when a job ends: seconds, not minutes
DEFERRED_FRESH_S = 900  # a job deferred this recently is waiting, not lost (the sweeper skips it)


@dataclass(frozen=True)
class Start:
    """What the worker may do with a job: `started`/`resumed` run it; the rest do not."""

    outcome: str  # started | resumed | full | missing | skipped
    job: JobModel | None = None

    @property
    def runs(self) -> bool:
        return self.outcome in ("started", "resumed")


def defer_seconds() -> int:
    """How long a job waits for a slot before its message comes back (spread out)."""
    return DEFER_BASE_S + random.randint(0, DEFER_BASE_S)


def start_job(workspace_id: str, job_id: str, now: datetime) -> Start:
    """Claim a queued job for this worker, taking a running slot when the job has a cap.

    Two requests: a consistent read (the job's cap, status and slot), then one transaction.
    A job already running with a slot (a redelivery after a crash) resumes without a new slot.
    """
    try:
        job = JobModel.get(workspace_id, job_id, consistent_read=True)
    except JobModel.DoesNotExist:
        return Start("missing")
    if job.status in TERMINAL:
        return Start("skipped", job)
    if job.status == "running" and job.slot:
        return _resume(job, now)
    txn = Transaction()
    actions = [
        JobModel.status.set("running"),
        JobModel.status_shard.set(job_status_shard("running", job.job_id)),
        JobModel.started_at.set(JobModel.started_at | now),  # if_not_exists: the first start
        JobModel.attempts.add(1),
    ]
    capped = job.max_running is not None
    if capped:
        txn.update(
            "wallet",
            WalletModel(workspace_id),
            [WalletModel.running_jobs.add(1)],
            WalletModel.running_jobs.does_not_exist() | (WalletModel.running_jobs < int(job.max_running)),
        )
        actions.append(JobModel.slot.set(True))
    txn.update("job", job, actions, JobModel.status.is_in("queued", "running") & JobModel.slot.does_not_exist())
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "job" in cancelled.failures:
            return start_job(workspace_id, job_id, now) if job.status == "queued" else Start("skipped", job)
        return Start("full", job)
    job.status, job.started_at = "running", job.started_at or now
    job.attempts, job.slot = int(job.attempts or 0) + 1, True if capped else None
    return Start("started", job)


def _resume(job: JobModel, now: datetime) -> Start:
    try:
        job.update(actions=[JobModel.attempts.add(1)], condition=(JobModel.status == "running") & (JobModel.slot == True))  # noqa: E712
    except UpdateError:  # it finished or was released meanwhile
        return Start("skipped", job)
    return Start("resumed", job)


def waiting_on_purpose(job: JobModel, now: datetime) -> bool:
    """A queued job the worker deferred recently: its message is alive, its hold is not stale."""
    deferred = job.deferred_at
    return job.status == "queued" and deferred is not None and (now - deferred).total_seconds() < DEFERRED_FRESH_S


def mark_deferred(job: JobModel, now: datetime) -> None:
    """Note that a queued job is waiting on purpose (the stale-hold sweeper leaves it alone)."""
    try:
        job.update(actions=[JobModel.deferred_at.set(now)], condition=JobModel.status == "queued")
    except UpdateError:  # it started or ended meanwhile; nothing to note
        return
