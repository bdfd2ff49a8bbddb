"""Property tests over the code production runs: admission, settlement, release, adjustments,
clawbacks and rollovers against moto, in random sequences; and the rate limiter's burst bound
measured on real admissions (the DynamoDB condition decides, not a copy of it in the test).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import clock
from chalicelib.accounting.admission import reset_caches
from chalicelib.accounting.errors import Denied, InsufficientForAdjustment, RateLimitDenied
from chalicelib.accounting.ledger import adjust, claw_back, get_wallet, reconcile_wallet, roll_over
from chalicelib.accounting.periods import period_of
from chalicelib.accounting.plans import get_plan
from chalicelib.accounting.ratelimit import WINDOW_MS
from chalicelib.accounting.settlement import JobFinal, Usage, release_job, settle_job
from chalicelib.store.models import JobModel
from tests.functional.accounting_helpers import UNLIMITED, admit

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

step = st.one_of(
    st.tuples(st.just("admit"), st.integers(1, 4)),
    st.tuples(st.just("settle"), st.integers(0, 100)),
    st.tuples(st.just("release"), st.integers(0, 100)),
    st.tuples(st.just("adjust"), st.integers(-80, 80).filter(bool)),
    st.tuples(st.just("clawback"), st.integers(1, 120)),
    st.tuples(st.just("next_month"), st.just(0)),
)


def _tenant(make_tenant: Any) -> Any:
    return make_tenant(plan="free", limits=UNLIMITED)


class _Run:
    """One example's world: a fresh wallet and the jobs it has open."""

    def __init__(self, tenant: Any) -> None:
        self.t = tenant
        self.open: list[str] = []
        self.clawbacks = 0

    def do(self, op: str, x: int) -> None:
        now = clock.now()
        ws = self.t.workspace_id
        if op == "admit":
            try:
                self.open.append(admit(self.t, n=x).job_id)
            except Denied as denied:
                assert denied.reason == "insufficient_credits", denied.reason
                assert int(get_wallet(ws).available) < x  # refused only when it could not be afforded
        elif op in ("settle", "release") and self.open:
            job = JobModel.get(ws, self.open.pop(x % len(self.open)), consistent_read=True)
            if op == "settle":
                spent = x % (int(job.credits_reserved) + 1)
                assert settle_job(job, Usage(images=1, credits=spent), JobFinal("succeeded", now), now).applied
            else:
                assert release_job(job, JobFinal("failed", now), now, reason="test").applied
        elif op == "adjust":
            try:
                adjust(ws, x, reason="property", actor="test", now=now)
            except InsufficientForAdjustment:
                assert x < 0 and int(get_wallet(ws).available) < -x
        elif op == "clawback":
            self.clawbacks += 1
            claw_back(
                ws,
                x,
                reason="refund",
                source=f"ch_{self.clawbacks}",
                now=now,
                record=f"clawed:{ws}:{self.clawbacks}",
                record_total=x,
                record_prev=0,
            )
        elif op == "next_month":
            clock.set_clock(clock.FrozenClock(now + timedelta(days=31)))
            roll_over(ws, period_of(clock.now()), get_plan("free").monthly_allowance, clock.now())


@settings(max_examples=12, deadline=None, suppress_health_check=FIXTURES)
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_random_sequences_of_production_operations_keep_every_invariant(make_tenant, steps):
    clock.set_clock(clock.FrozenClock(datetime(2026, 3, 10, 12, tzinfo=UTC)))
    try:
        run = _Run(_tenant(make_tenant))
        for op, x in steps:
            run.do(op, x)
            wallet = get_wallet(run.t.workspace_id)
            assert int(wallet.available) >= 0 and int(wallet.held) >= 0
        drift = reconcile_wallet(run.t.workspace_id)
        assert drift.ok, drift.problems
        assert int(get_wallet(run.t.workspace_id).active_jobs) == len(run.open)
    finally:
        clock.reset_clock()


def _expected(limit: int, admitted_ms: list[int], t: int) -> bool:
    """The documented rule, from the outside: current + 1 + ceil(previous x (W - e) / W) <= limit."""
    index, elapsed = divmod(t, WINDOW_MS)
    current = sum(1 for a in admitted_ms if a // WINDOW_MS == index)
    previous = sum(1 for a in admitted_ms if a // WINDOW_MS == index - 1)
    weighted = -(-previous * (WINDOW_MS - elapsed) // WINDOW_MS)
    return current + 1 + weighted <= limit


@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURES)
@given(limit=st.integers(1, 5), arrivals=st.lists(st.integers(0, 3 * WINDOW_MS - 1), min_size=1, max_size=16))
def test_real_admissions_keep_the_burst_bound_and_the_documented_rule(make_tenant, limit, arrivals):
    base = datetime(2026, 3, 10, 12, tzinfo=UTC)
    fc = clock.FrozenClock(base)
    clock.set_clock(fc)
    reset_caches()
    try:
        t = make_tenant(plan="pro", limits={**UNLIMITED, "requests_per_minute_user": limit})
        admitted: list[int] = []
        for at in sorted(arrivals):
            fc.set(base + timedelta(milliseconds=at))
            expected = _expected(limit, admitted, at)
            try:
                admit(t)
                admitted.append(at)
                assert expected, (at, admitted)
            except RateLimitDenied as denied:
                assert denied.scope == "user" and not expected, (at, admitted)
        for window in {a // WINDOW_MS for a in admitted}:
            assert sum(1 for a in admitted if a // WINDOW_MS == window) <= limit
        for i, start in enumerate(admitted):
            for d in (1, WINDOW_MS // 4, WINDOW_MS // 2, WINDOW_MS):
                inside = sum(1 for a in admitted[i:] if a < start + d)
                assert inside <= limit + limit * d / WINDOW_MS + 1e-9, (start, d, inside)
    finally:
        clock.reset_clock()
