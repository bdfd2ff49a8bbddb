"""Settlement: after the provider answers, turn the hold into the exact charge, once.

ONE transaction: the hold row `held → settled` (the exactly-once guard), the wallet (release
the hold, spend the actual), the ledger `charge` entry, the job's final state, the daily quota
correction (and the spend-cap counters' of the job's key and member), the daily rollups and the
customer analytics' hour and day rows (store/analytics.py).
Failure and cancel release the hold the same way.
A second settlement of the same hold finds it resolved and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.accounting import keys
from chalicelib.accounting import wallet as rules
from chalicelib.accounting.ledger import update_wallet
from chalicelib.accounting.periods import day_of, period_of
from chalicelib.store import analytics
from chalicelib.store.models import (
    CounterModel,
    HoldModel,
    JobModel,
    LedgerEntryModel,
    RollupModel,
    WalletModel,
    job_status_shard,
)
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.webhooks.producers import job_finished


@dataclass(frozen=True)
class Usage:
    """What a job actually consumed, in ledger units."""

    images: int
    credits: int
    cost_micro_usd: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    provider_ms: int = 0

    def as_dict(self, reserved: int) -> dict[str, int]:
        return {
            "credits_reserved": reserved,
            "credits_charged": self.credits,
            "cost_micro_usd": self.cost_micro_usd,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "provider_ms": self.provider_ms,
            "images": self.images,
        }


@dataclass(frozen=True)
class Outcome:
    """The result of a settlement or release attempt."""

    applied: bool  # False: the hold was already resolved (a duplicate): nothing changed
    hold_status: str


@dataclass
class JobFinal:
    """The job fields written in the same transaction."""

    status: str
    finished_at: datetime
    images: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, str] | None = None
    timings: dict[str, int] | None = None
    extra_condition: Any = None


def _job_actions(job: JobModel, final: JobFinal, usage: dict[str, int]) -> list[Any]:
    actions = [
        JobModel.status.set(final.status),
        JobModel.status_shard.set(job_status_shard(final.status, job.job_id)),
        JobModel.finished_at.set(final.finished_at),
        JobModel.usage.set(usage),
        JobModel.lease_until.remove(),
    ]
    if final.images:
        actions.append(JobModel.images.set(final.images))
    if final.error is not None:
        actions.append(JobModel.error.set(final.error))
    if final.timings is not None:
        actions.append(JobModel.timings.set(final.timings))
    return actions


def _rollups(txn: Transaction, job: JobModel, day: str, counts: dict[str, int]) -> None:
    for n, (pk, sk) in enumerate(keys.rollup_keys(job.workspace_id, job.user_id, job.provider, job.model, day, job.job_id)):
        actions = [getattr(RollupModel, name).add(value) for name, value in counts.items() if value]
        if actions:
            txn.update(f"rollup:{n}", RollupModel(pk, sk), actions)


@dataclass(frozen=True)
class _Ending:
    """How one hold ends: everything the transaction writes besides the job and its hold.

    One value, so a retry after the job's slot moved (`_resolve`) writes exactly the same
    things: the image rows and the library's counters too."""

    status: str  # the hold's: settled or released
    entry_type: str  # the ledger entry's: charge or release
    actual: int  # credits charged, <= reserved
    usage: dict[str, int]
    details: dict[str, int]
    tokens_used: int
    rollup: dict[str, int] | None
    reason: str | None = None
    job_condition: Any = None
    extra_puts: tuple[Any, ...] = ()
    extra_updates: tuple[tuple[Any, list[Any]], ...] = ()


def settle_job(
    job: JobModel,
    usage: Usage,
    final: JobFinal,
    now: datetime,
    image_rows: list[Any] | None = None,
    counters: list[tuple[Any, list[Any]]] | None = None,
) -> Outcome:
    """Charge `usage.credits` (<= the hold) for a job that produced images, exactly once.

    `image_rows` (the images' rows) and `counters` (updates counting them in the library's usage)
    are written in the same transaction."""
    reserved = int(job.credits_reserved)
    actual = min(usage.credits, reserved)  # never charge above what was reserved
    charged = Usage(usage.images, actual, usage.cost_micro_usd, usage.input_tokens, usage.output_tokens, usage.provider_ms)
    consumed = {
        "images": usage.images,
        "cost_micro_usd": usage.cost_micro_usd,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "provider_ms": usage.provider_ms,
    }
    ending = _Ending(
        status="settled",
        entry_type="charge",
        actual=actual,
        usage=charged.as_dict(reserved),
        details={**consumed, "credits_reserved": reserved},
        tokens_used=usage.input_tokens + usage.output_tokens,
        rollup={"jobs": 1, **consumed, "credits": actual},
        extra_puts=tuple(image_rows or ()),
        extra_updates=tuple(counters or ()),
    )
    return _resolve(job, final, now, ending)


def release_job(
    job: JobModel, final: JobFinal, now: datetime, *, reason: str, job_condition: Any = None, cost_micro_usd: int = 0
) -> Outcome:
    """Release a job's hold (failed, canceled, dead-lettered, swept), exactly once."""
    ending = _Ending(
        status="released",
        entry_type="release",
        actual=0,
        usage=Usage(0, 0, cost_micro_usd).as_dict(int(job.credits_reserved)),
        details={"cost_micro_usd": cost_micro_usd} if cost_micro_usd else {},
        tokens_used=0,
        rollup={"failed": 1, "cost_micro_usd": cost_micro_usd} if final.status == "failed" else None,
        reason=reason,
        job_condition=job_condition,
    )
    return _resolve(job, final, now, ending)


def _resolve(job: JobModel, final: JobFinal, now: datetime, ending: _Ending) -> Outcome:
    """The one transaction that ends a hold: charge `ending.actual` of it, return the rest."""
    outcome = _commit(_ending_transaction(job, final, now, ending), ending.status)
    if outcome.applied:  # committed once: announce it (job.succeeded/failed/canceled), never failing here
        job_finished(job, final.status, final.finished_at, final.images, final.error, ending.usage)
    if outcome.hold_status == "job_changed" and _slot_moved(job):
        # A worker took (or gave back) the job's slot after `job` was read: decide again on
        # the job as it is now; the caller's own condition is re-checked in that transaction.
        return _resolve(JobModel.get(job.workspace_id, job.job_id, consistent_read=True), final, now, ending)
    return outcome


def _ending_transaction(job: JobModel, final: JobFinal, now: datetime, ending: _Ending) -> Transaction:
    """Hold resolved, wallet, ledger entry, job, quota and cap corrections, rollups, extras."""
    hold = _hold_of(job)
    reserved = int(job.credits_reserved)
    txn = Transaction()
    _resolve_hold(txn, hold, ending.status, now)
    counts = [WalletModel.active_jobs.add(-1)]
    if job.slot:
        counts.append(WalletModel.running_jobs.add(-1))  # the job's running slot comes back
    update_wallet(txn, job.workspace_id, rules.resolve(reserved, ending.actual), now, actions=tuple(counts))
    entry = job_entry(
        job, ending.entry_type, now, amount=-ending.actual, held_delta=-reserved, reason=ending.reason, details=ending.details
    )
    txn.put("ledger", entry)
    txn.update(
        "job", job, [*_job_actions(job, final, ending.usage), JobModel.slot.remove()], _slot_condition(job, ending.job_condition)
    )
    _quota_correction(txn, hold, ending.actual - reserved, ending.tokens_used - int(job.tokens_reserved))
    _cap_correction(txn, job, ending.actual - reserved)
    if ending.rollup:
        _rollups(txn, job, day_of(now), ending.rollup)
        analytics.add_in(txn, job, now, ending.rollup, analytics.job_timings(job, final.finished_at, final.timings))
    for n, item in enumerate(ending.extra_puts):
        txn.put(f"extra:{n}", item)
    for n, (instance, actions) in enumerate(ending.extra_updates):
        txn.update(f"extra_update:{n}", instance, actions)
    return txn


def _slot_condition(job: JobModel, job_condition: Any) -> Any:
    """The job must hold exactly the slot we think it holds, so a slot is returned exactly once."""
    slot = (JobModel.slot == True) if job.slot else JobModel.slot.does_not_exist()  # noqa: E712
    return slot if job_condition is None else slot & job_condition


def _slot_moved(job: JobModel) -> bool:
    try:
        current = JobModel.get(job.workspace_id, job.job_id, consistent_read=True, attributes_to_get=["job_id", "slot"])
    except JobModel.DoesNotExist:
        return False
    return bool(current.slot) != bool(job.slot)


def job_entry(
    job: JobModel,
    entry_type: str,
    now: datetime,
    *,
    amount: int,
    held_delta: int,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> LedgerEntryModel:
    """A ledger entry about a job: who, which key, which provider and model, when."""
    return LedgerEntryModel(
        job.workspace_id,
        ids.new_id("led", now),
        type=entry_type,
        amount=amount,
        held_delta=held_delta,
        job_id=job.job_id,
        user_id=job.user_id,
        key_id=job.key_id,
        provider=job.provider,
        model=job.model,
        period=period_of(now),
        reason=reason,
        created_at=now,
        details=details or {},
    )


def _hold_of(job: JobModel) -> HoldModel:
    """The hold row of a job, by key only: its quota day is the job's admission day.

    No read: the job row carries what was reserved, so settlement stays one request.
    """
    key = keys.hold_key(job.workspace_id, job.idempotency_key or job.job_id)
    return HoldModel(key, workspace_id=job.workspace_id, day=day_of(job.created_at))


def _resolve_hold(txn: Transaction, hold: HoldModel, status: str, now: datetime) -> None:
    txn.update(
        "hold",
        hold,
        [HoldModel.status.set(status), HoldModel.resolved_at.set(now), HoldModel.open_shard.remove()],
        HoldModel.status == "held",
    )


def _quota_correction(txn: Transaction, hold: HoldModel, credits: int, tokens: int) -> None:
    actions = []
    if credits:
        actions.append(CounterModel.credits.add(credits))
    if tokens:
        actions.append(CounterModel.tokens.add(tokens))
    if actions:
        txn.update("quota", CounterModel(keys.quota_key(hold.workspace_id, hold.day)), actions)


def _cap_correction(txn: Transaction, job: JobModel, credits: int) -> None:
    """The spend-cap counters admission took for the job (key, member) keep only what it spent."""
    if not credits:
        return
    for n, key in enumerate(job.spend_counters or []):
        txn.update(f"cap:{n}", CounterModel(str(key)), [CounterModel.credits.add(credits)])


def _commit(txn: Transaction, status: str) -> Outcome:
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "hold" in cancelled.failures:
            return Outcome(False, "resolved")
        if "job" in cancelled.failures:
            return Outcome(False, "job_changed")  # e.g. a worker started the job first
        raise
    return Outcome(True, status)
