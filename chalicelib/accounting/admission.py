"""Admission: the pre-check before a job is queued, in ONE DynamoDB transaction.

It takes the rate-limit slots (user, workspace, API key, provider), the daily credit/token
quota, the spend caps of the calling key (per day, per month) and member (per month), and a hold
of the job's worst-case credits on the wallet; it writes the hold row (keyed by the idempotency
key: the exactly-once guard), the ledger `hold` entry and the job itself. Either all of it
happens or none of it: a denial writes nothing.

Spend caps are counters like the daily quota (`credits <= cap - cost` as the condition): a
key's taken only when it has a cap, a person's monthly one always. The job row lists the
counters it took (`spend_counters`) so that settlement and release correct exactly those, in
their one transaction.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from chalicelib.accounting import keys, ratelimit
from chalicelib.accounting import wallet as rules
from chalicelib.accounting.errors import AmbiguousWrite, Denied, DuplicateAdmission, RateLimitDenied
from chalicelib.accounting.ledger import roll_over, update_wallet
from chalicelib.accounting.periods import day_of, period_of
from chalicelib.accounting.plans import PROVIDER_QUOTAS, Limits, get_plan
from chalicelib.accounting.prices import job_credits, model_price, worst_case_tokens
from chalicelib.accounting.settlement import job_entry
from chalicelib.bootstrap import on_reset
from chalicelib.store.models import CounterModel, HoldModel, JobModel, WalletModel
from chalicelib.store.transaction import Failure, Transaction, TransactionCancelled

_finals = ratelimit.FinalCounts()  # previous windows' final counts (exact)
_seen = ratelimit.FinalCounts()  # current windows' counts as this process knows them (a lower bound)
QUOTA_TTL_S = 3 * 86_400
MONTHLY_CAP_TTL_S = 40 * 86_400


@dataclass(frozen=True)
class SpendCaps:
    """Credit caps of the caller (teams): the key's per day and per month, the member's per month.
    None: no cap. A person's monthly spend is counted even uncapped (`count_member`), so a cap set
    mid-month binds on the whole month, and spend is attributable per member."""

    key_per_day: int | None = None
    key_per_month: int | None = None
    member_per_month: int | None = None
    count_member: bool = False

    def counters(self, job: JobModel, now: datetime) -> list[tuple[str, str, int | None, int]]:
        """(quota name, counter key, cap or None, expiry epoch) of every counter `job` adds to."""
        day, month, epoch = day_of(now), period_of(now), int(now.timestamp())
        member = self.count_member or self.member_per_month is not None
        wanted = [
            ("key_credits_per_day", job.key_id, day, self.key_per_day, QUOTA_TTL_S, self.key_per_day is not None),
            ("key_credits_per_month", job.key_id, month, self.key_per_month, MONTHLY_CAP_TTL_S, self.key_per_month is not None),
            (
                "member_credits_per_month",
                f"{job.workspace_id}#{job.user_id}",
                month,
                self.member_per_month,
                MONTHLY_CAP_TTL_S,
                member,
            ),
        ]
        return [
            (quota, keys.cap_key(quota, subject, period), cap, epoch + ttl)
            for quota, subject, period, cap, ttl, wanted_here in wanted
            if wanted_here and subject
        ]


@dataclass(frozen=True)
class AdmissionRequest:
    """Everything admission needs; `job` is the unsaved job row to write when admitted."""

    job: JobModel
    plan: str
    limits: Limits
    idempotency_key: str
    request_hash: str
    now: datetime
    caps: SpendCaps = field(default_factory=SpendCaps)


@dataclass(frozen=True)
class RateStatus:
    """For the RateLimit-* headers: the tightest scope after this request."""

    limit: int
    remaining: int
    reset: int


@dataclass(frozen=True)
class Admission:
    job_id: str
    credits: int
    tokens: int
    rate: RateStatus
    requests: int = 1  # DynamoDB requests it took (benchmarks)
    notes: dict[str, Any] = field(default_factory=dict)


def reserve_for(job: JobModel) -> tuple[int, int]:
    """Worst-case (credits, tokens) of a job: what admission holds."""
    price = model_price(job.provider, job.model)
    credits = job_credits(price, job.size, job.kind, int(job.n))
    tokens_in, tokens_out = worst_case_tokens(price, job.prompt, int(job.n))
    return credits, tokens_in + tokens_out


def _windows(req: AdmissionRequest, now_ms: int) -> list[ratelimit.WindowCheck]:
    job, lim = req.job, req.limits
    scopes = [
        ("user", keys.rate_key("u", job.user_id), lim.requests_per_minute_user),
        ("workspace", keys.rate_key("w", job.workspace_id), lim.requests_per_minute_workspace),
    ]
    if job.key_id:
        scopes.append(("key", keys.rate_key("k", job.key_id), lim.requests_per_minute_key))
    checks = [_plan(scope, base, limit, now_ms) for scope, base, limit in scopes]
    return [*checks, _provider_window(job, now_ms)]


def _plan(scope: str, base: str, limit: int, now_ms: int, shards: int = 1) -> ratelimit.WindowCheck:
    """One window's check, with the previous window's final count when this process knows it."""
    previous = _finals.get(f"{base}#{now_ms // ratelimit.WINDOW_MS - 1}")
    return ratelimit.plan_window(scope, base, limit, now_ms, previous, shards)


def _provider_window(job: JobModel, now_ms: int) -> ratelimit.WindowCheck:
    """The provider's window, every admission's on the platform: one key, or for a large limit
    one of `shard_count` shards (`RL#p#<provider>#<k>`): the one the job id hashes to, or the
    next one this process does not already know to be full."""
    limit = PROVIDER_QUOTAS[job.provider].requests_per_minute
    base = keys.rate_key("p", job.provider)
    shards = ratelimit.shard_count(limit)
    if shards == 1:
        return _plan("provider", base, limit, now_ms)
    start = zlib.crc32(job.job_id.encode("utf-8")) % shards
    candidates = (
        _plan("provider", f"{base}#{k}", ratelimit.shard_limit(limit, shards, k), now_ms, shards)
        for k in ((start + step) % shards for step in range(shards))
    )
    first = next(candidates)
    return first if _may_have_room(first) else next((c for c in candidates if _may_have_room(c)), first)


def _may_have_room(check: ratelimit.WindowCheck) -> bool:
    """False when this process already knows the window is full (its own admissions and the
    counts denials showed are a lower bound of the window's count)."""
    return check.threshold >= 0 and (_seen.get(check.current_key) or 0) <= check.threshold


def _rate_denial(check: ratelimit.WindowCheck, current: int) -> RateLimitDenied:
    _seen.observe(check.current_key, current)
    previous = check.previous or 0
    retry = ratelimit.retry_after_seconds(check.limit, current, previous, check.elapsed_ms)
    return RateLimitDenied(check.scope, retry, check.limit, check.reset_seconds)


def admit_job(req: AdmissionRequest) -> Admission:
    """Admit `req.job` or raise Denied / DuplicateAdmission; retries only on learned state."""
    job = req.job
    if job.provider not in req.limits.providers:
        raise Denied("provider_not_allowed", f"provider {job.provider!r} is not included in your plan")
    credits, tokens = reserve_for(job)
    if credits > req.limits.credits_per_day:
        raise Denied("quota_exceeded", "job exceeds the daily credit quota", quota="credits_per_day")
    if tokens > req.limits.tokens_per_day:
        raise Denied("quota_exceeded", "job exceeds the daily token quota", quota="tokens_per_day")
    for quota, _, cap, _ in req.caps.counters(job, req.now):
        if cap is not None and credits > cap:
            raise _cap_denial(quota, cap)
    period = period_of(req.now)
    requests = 0
    denial: Denied | None = None
    for _ in range(4):
        requests += 1
        try:
            status = _attempt(req, credits, tokens, period)
        except _Retry as retry:
            if retry.period:
                period = retry.period
            requests += retry.requests
            denial = retry.denial
            continue
        return Admission(job.job_id, credits, tokens, status, requests=requests)
    raise denial or Denied("contention", "admission could not settle on a consistent state; retry")


class _Retry(Exception):
    """Try again with what the refusal taught; `denial` is the answer if no try is left (a full
    provider shard: another shard may have room)."""

    def __init__(self, period: str | None = None, requests: int = 0, denial: Denied | None = None) -> None:
        super().__init__("retry")
        self.period = period
        self.requests = requests
        self.denial = denial


def _attempt(req: AdmissionRequest, credits: int, tokens: int, period: str) -> RateStatus:
    """One try: build the transaction, send it, learn from a refusal or count the admission."""
    checks = _windows(req, int(req.now.timestamp() * 1000))
    for check in checks:
        if check.threshold < 0:
            raise _rate_denial(check, 0)
        if check.shards > 1 and not _may_have_room(check):  # every shard is known to be full
            raise _rate_denial(check, _seen.get(check.current_key) or 0)
    txn = Transaction()
    _take_rate_slots(txn, checks)
    _take_quota(txn, req, credits, tokens)
    _take_caps(txn, req, credits)
    _hold_credits(txn, req, credits, period)
    _write_hold_and_job(txn, req, credits, tokens)
    try:
        txn.commit()
    except AmbiguousWrite:
        if not _was_admitted(req.job):
            raise  # not visible: the caller answers 503 and a retry with the same key is safe
    except TransactionCancelled as cancelled:
        raise _refusal(req, checks, credits, period, cancelled.failures) from None
    return _count_admission(checks)


def _take_rate_slots(txn: Transaction, checks: list[ratelimit.WindowCheck]) -> None:
    """One conditional ADD per scope's current window; a ConditionCheck proves the previous
    window's count where this process has not learned it yet."""
    for check in checks:
        expires = (check.window_index + 3) * ratelimit.WINDOW_MS // 1000
        txn.update(
            f"rate:{check.scope}",
            CounterModel(check.current_key),
            [CounterModel.n.add(1), CounterModel.expires_at.set(expires)],
            CounterModel.n.does_not_exist() | (CounterModel.n <= check.threshold),
            return_old=True,
        )
        if check.previous is None:
            txn.check(
                f"prev:{check.scope}",
                CounterModel,
                check.previous_key,
                condition=CounterModel.n.does_not_exist() | (CounterModel.n <= 0),
                return_old=True,
            )


def _take_quota(txn: Transaction, req: AdmissionRequest, credits: int, tokens: int) -> None:
    """The day's credit and token quota, under precomputed bounds (no arithmetic in conditions)."""
    lim = req.limits
    txn.update(
        "quota",
        CounterModel(keys.quota_key(req.job.workspace_id, day_of(req.now))),
        [
            CounterModel.credits.add(credits),
            CounterModel.tokens.add(tokens),
            CounterModel.expires_at.set(int(req.now.timestamp()) + QUOTA_TTL_S),
        ],
        (CounterModel.credits.does_not_exist() | (CounterModel.credits <= lim.credits_per_day - credits))
        & (CounterModel.tokens.does_not_exist() | (CounterModel.tokens <= lim.tokens_per_day - tokens)),
        return_old=True,
    )


def _take_caps(txn: Transaction, req: AdmissionRequest, credits: int) -> None:
    """The key's and member's spend caps, like the quota: `credits <= cap - cost`; the job row
    keeps the counters' keys so that settlement corrects exactly these."""
    taken = []
    for quota, key, cap, expires in req.caps.counters(req.job, req.now):
        txn.update(
            f"cap:{quota}",
            CounterModel(key),
            [CounterModel.credits.add(credits), CounterModel.expires_at.set(expires)],
            None if cap is None else CounterModel.credits.does_not_exist() | (CounterModel.credits <= cap - credits),
            return_old=cap is not None,
        )
        taken.append(key)
    # pynamodb types a list of strings as list[UnicodeAttribute]; the stored value is strings.
    req.job.spend_counters = cast("list[Any] | None", taken or None)


def _cap_denial(quota: str, cap: int) -> Denied:
    what = {"key_credits_per_day": "this key's daily", "key_credits_per_month": "this key's monthly"}.get(
        quota, "your monthly member"
    )
    return Denied("quota_exceeded", f"{what} credit cap ({cap}) is used up", quota=quota, cap=cap)


def _hold_credits(txn: Transaction, req: AdmissionRequest, credits: int, period: str) -> None:
    """The wallet hold: affordable, current period, not banned, below the queued-jobs cap."""
    update_wallet(
        txn,
        req.job.workspace_id,
        rules.hold(credits),
        req.now,
        actions=(WalletModel.active_jobs.add(1), WalletModel.last_active.set(keys.activity_key(period, req.job.workspace_id))),
        condition=(WalletModel.period == period)
        & (WalletModel.banned == False)  # noqa: E712 (a DynamoDB condition, not a Python test)
        & (WalletModel.active_jobs < req.limits.max_queued_jobs),
        return_old=True,
    )


def _write_hold_and_job(txn: Transaction, req: AdmissionRequest, credits: int, tokens: int) -> None:
    """The hold row (keyed by the idempotency key: exactly once), its ledger entry and the job."""
    job = req.job
    txn.put(
        "hold",
        HoldModel(
            keys.hold_key(job.workspace_id, req.idempotency_key),
            workspace_id=job.workspace_id,
            job_id=job.job_id,
            user_id=job.user_id,
            status="held",
            credits=credits,
            tokens=tokens,
            day=day_of(req.now),
            request_hash=req.request_hash,
            open_shard=keys.open_hold_shard(job.job_id),
            created_epoch=int(req.now.timestamp()),
        ),
        HoldModel.hold_key.does_not_exist(),
        return_old=True,
    )
    txn.put(
        "ledger",
        job_entry(
            job,
            "hold",
            req.now,
            amount=0,
            held_delta=credits,
            details={"n": int(job.n), "size": job.size, "kind": job.kind, "tokens_reserved": tokens},
        ),
    )
    job.credits_reserved = credits
    job.tokens_reserved = tokens
    job.max_running = req.limits.max_concurrent_jobs  # the worker's running cap for this workspace
    job.idempotency_key = req.idempotency_key
    txn.put("job", job, JobModel.job_id.does_not_exist())


def _refusal(
    req: AdmissionRequest, checks: list[ratelimit.WindowCheck], credits: int, period: str, failures: dict[str, Failure]
) -> Exception:
    """What a cancelled admission means; a denial carries the windows as they stand (nothing taken)."""
    error = _interpret(req, checks, credits, period, failures)
    if isinstance(error, Denied) and not isinstance(error, RateLimitDenied):
        tightest = min(checks, key=lambda c: c.threshold)
        known = _seen.get(tightest.current_key) or 0
        error.rate = RateStatus(tightest.limit, max(0, tightest.threshold + 1 - known), tightest.reset_seconds)
    return error


def _count_admission(checks: list[ratelimit.WindowCheck]) -> RateStatus:
    """Learn that empty previous windows were empty, count this admission, and say the tightest
    scope's remaining requests (RateLimit-* headers)."""
    remaining = []
    for check in checks:
        if check.previous is None:
            _finals.put(check.previous_key, 0)
        known = _seen.increment(check.current_key)
        remaining.append((max(0, check.threshold + 1 - known), check))
    left, scope = min(remaining, key=lambda pair: pair[0])
    return RateStatus(scope.limit, left, scope.reset_seconds)


def _was_admitted(job: JobModel) -> bool:
    """After an ambiguous commit: the job row is written by the admission transaction only,
    so a strongly consistent read of it tells whether the transaction was applied."""
    try:
        JobModel.get(job.workspace_id, job.job_id, consistent_read=True, attributes_to_get=["job_id"])
    except JobModel.DoesNotExist:
        return False
    return True


def _interpret(
    req: AdmissionRequest, checks: list[ratelimit.WindowCheck], credits: int, period: str, failures: dict[str, Failure]
) -> Exception:
    """Turn cancellation reasons into a denial, a duplicate, or a retry with what we learned.

    The order matters: a replayed key is a duplicate whatever else failed; a ban outranks
    everything; learned window counts mean the thresholds were wrong, so retry before judging."""
    hold = failures.get("hold")
    if hold is not None and hold.code == "ConditionalCheckFailed":
        old = hold.old or {}
        return DuplicateAdmission(str(old.get("job_id", "")), old.get("request_hash"))
    wallet = failures.get("wallet")
    wallet_old = (wallet.old or {}) if wallet else {}
    if wallet and wallet_old.get("banned"):
        return Denied("banned", "this workspace is banned")
    if _learn_previous_counts(checks, failures):
        return _Retry()
    for check in checks:
        rate = failures.get(f"rate:{check.scope}")
        if rate is not None:
            denial = _rate_denial(check, int((rate.old or {}).get("n", 0)))
            return _Retry(denial=denial) if check.shards > 1 else denial
    for quota, _, cap, _ in req.caps.counters(req.job, req.now):
        if cap is not None and f"cap:{quota}" in failures:
            return _cap_denial(quota, cap)
    if wallet is not None:
        return _wallet_refusal(req, credits, period, wallet_old, quota_failed="quota" in failures)
    if "quota" in failures:
        return _quota_denial()
    return Denied("contention", "admission was refused: " + ", ".join(failures))


def _learn_previous_counts(checks: list[ratelimit.WindowCheck], failures: dict[str, Failure]) -> bool:
    """Previous windows' true counts from refused ConditionChecks (final: cached for good)."""
    learned = False
    for check in checks:
        prev = failures.get(f"prev:{check.scope}")
        if prev is not None and prev.old is not None:
            _finals.put(check.previous_key, int(prev.old.get("n", 0)))
            learned = True
    return learned


def _wallet_refusal(
    req: AdmissionRequest, credits: int, period: str, wallet_old: dict[str, Any], *, quota_failed: bool
) -> Exception:
    """Why the wallet refused: no wallet, another period (roll over, retry), the queue cap, credits."""
    if not wallet_old:
        return Denied("no_wallet", "this workspace has no wallet")
    if wallet_old.get("period") != period:
        old_period = str(wallet_old.get("period"))
        if old_period < period:
            roll_over(req.job.workspace_id, period, get_plan(req.plan).monthly_allowance, req.now)
            return _Retry(requests=2)
        return _Retry(period=old_period)
    if int(wallet_old.get("active_jobs", 0)) >= req.limits.max_queued_jobs:
        cap = req.limits.max_queued_jobs
        return RateLimitDenied(
            "queue",
            5,
            cap,
            5,
            message=(
                f"{cap} jobs are already queued or running, the most your plan allows at once; retry when some have finished"
            ),
        )
    if quota_failed:
        return _quota_denial()
    available = int(wallet_old.get("available", 0))
    return Denied(
        "insufficient_credits", f"this job needs {credits} credits; {available} available", required=credits, available=available
    )


def _quota_denial() -> Denied:
    return Denied("quota_exceeded", "the daily credit or token quota is used up", quota="daily")


@on_reset
def reset_caches() -> None:
    """Forget learned window counts (tests that move the clock backwards)."""
    _finals.clear()
    _seen.clear()
