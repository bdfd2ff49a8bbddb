"""Property tests of the wallet arithmetic: random sequences keep the invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.accounting import wallet as rules

ops = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), st.integers(0, 50)),
        st.tuples(st.just("settle"), st.integers(0, 100)),
        st.tuples(st.just("fail"), st.integers(0, 100)),
        st.tuples(st.just("grant"), st.integers(1, 500)),
        st.tuples(st.just("debit"), st.integers(1, 500)),
        st.tuples(st.just("reset"), st.integers(0, 1000)),
    ),
    max_size=80,
)


def _next_period(period: str) -> str:
    y, m = map(int, period.split("-"))
    return f"{y + (m == 12)}-{m % 12 + 1:02d}"


@settings(max_examples=400, deadline=None)
@given(start_allowance=st.integers(0, 1000), sequence=ops)
def test_random_sequences_keep_invariants(start_allowance: int, sequence: list[tuple[str, int]]) -> None:
    w = rules.Wallet(period="2026-01", allowance_granted=start_allowance, available=start_allowance)
    ledger = start_allowance  # sum of ledger amounts
    ledger_held = 0
    holds: list[int] = []
    for op, x in sequence:
        if op == "admit":
            if w.available >= x:
                w = rules.hold(w, x)
                holds.append(x)
                ledger_held += x
        elif op == "settle" and holds:
            reserved = holds.pop(0)
            actual = x % (reserved + 1)
            w = rules.settle(w, reserved, actual)
            ledger -= actual
            ledger_held -= reserved
        elif op == "fail" and holds:
            reserved = holds.pop()
            w = rules.release(w, reserved)
            ledger_held -= reserved
        elif op == "grant":
            w = rules.credit(w, x)
            ledger += x
        elif op == "debit":
            if w.available >= x:
                w = rules.debit(w, x)
                ledger -= x
        elif op == "reset":
            r = rules.rollover(w, _next_period(w.period), x)
            ledger += r.expired + r.granted
            w = r.wallet
            assert r.expired <= 0 and w.period_spent == 0
        # Invariant 1: never negative.
        assert w.available >= 0
        assert w.allowance_remaining >= 0 and w.purchased_remaining >= 0
        # Invariant 3: conservation against the ledger.
        assert w.balance == ledger
        assert w.held == ledger_held == sum(holds)
        assert w.available == w.balance - w.held
        # Spending takes the allowance first.
        if w.purchased_remaining < w.purchased:
            assert w.allowance_remaining == 0


def test_rollover_expires_allowance_and_keeps_purchased() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=100, period_spent=30, purchased=50, held=10, available=110)
    r = rules.rollover(w, "2026-12", 200)
    assert r.expired == -60 and r.granted == 200  # the 10 held by jobs in flight stay
    assert r.wallet.purchased == 50 and r.wallet.allowance_granted == 210
    assert r.wallet.available == 210 + 50 - 10


def test_rollover_keeps_allowance_held_by_jobs_in_flight() -> None:
    w = rules.hold(rules.Wallet(period="2026-11", allowance_granted=1, available=1), 1)
    r = rules.rollover(w, "2026-12", 0)
    assert r.wallet.available == 0 and r.wallet.held == 1
    assert rules.release(r.wallet, 1).available == 1


def test_rollover_after_overspending_allowance_uses_purchased() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=100, period_spent=130, purchased=50, held=0, available=20)
    r = rules.rollover(w, "2026-12", 100)
    assert r.expired == 0
    assert r.wallet.purchased == 20 and r.wallet.available == 120


def test_hold_beyond_available_is_refused() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=5, available=5)
    try:
        rules.hold(w, 6)
    except ValueError:
        return
    raise AssertionError("hold above available must be refused")


def test_settle_more_than_reserved_is_refused() -> None:
    w = rules.hold(rules.Wallet(period="2026-11", allowance_granted=5, available=5), 3)
    try:
        rules.settle(w, 3, 4)
    except ValueError:
        return
    raise AssertionError("settling above the hold must be refused")
