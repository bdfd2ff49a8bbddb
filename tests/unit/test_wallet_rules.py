"""Property tests of the wallet arithmetic: random sequences keep the invariants."""

from __future__ import annotations

import pytest
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
        st.tuples(st.just("clawback"), st.integers(1, 500)),
        st.tuples(st.just("upgrade"), st.integers(0, 2000)),
        st.tuples(st.just("reset"), st.integers(0, 1000)),
    ),
    max_size=80,
)


def _next_period(period: str) -> str:
    y, m = map(int, period.split("-"))
    return f"{y + (m == 12)}-{m % 12 + 1:02d}"


def _try(w: rules.Wallet, delta: rules.Delta) -> rules.Wallet | None:
    """What DynamoDB does with the adapter's update: None when its condition refuses it."""
    try:
        return rules.apply(w, delta)
    except ValueError:
        return None


class Books:
    """A wallet and the ledger beside it, changed only through the deltas production writes.

    The model never checks `available` itself before an operation: only a delta's own condition
    may refuse it, as DynamoDB's condition expression would."""

    def __init__(self, start_allowance: int) -> None:
        self.w = rules.Wallet(period="2026-01", allowance_granted=start_allowance, available=start_allowance)
        self.ledger = start_allowance  # sum of ledger amounts
        self.ledger_held = 0
        self.holds: list[int] = []

    def admit(self, x: int) -> None:
        after = _try(self.w, rules.hold(x))
        if after is None:
            assert self.w.available < x  # refused only when it could not be afforded
            return
        self.w, self.ledger_held = after, self.ledger_held + x
        self.holds.append(x)

    def settle(self, x: int, *, failed: bool = False) -> None:
        if not self.holds:
            return
        reserved = self.holds.pop(0)
        actual = 0 if failed else x % (reserved + 1)
        self.w = rules.apply(self.w, rules.resolve(reserved, actual))  # a resolution is never refused
        self.ledger, self.ledger_held = self.ledger - actual, self.ledger_held - reserved

    def fail(self, x: int) -> None:
        self.settle(x, failed=True)

    def grant(self, x: int) -> None:
        self.w, self.ledger = rules.apply(self.w, rules.credit(x)), self.ledger + x

    def debit(self, x: int) -> None:
        after = _try(self.w, rules.debit(x))
        if after is None:
            assert self.w.available < x
            return
        self.w, self.ledger = after, self.ledger - x

    def clawback(self, x: int) -> None:
        delta = rules.clawback(self.w, x)
        assert -delta.available + delta.debt == x  # every credit owed is taken or recorded as debt
        self.w, self.ledger = rules.apply(self.w, delta), self.ledger + delta.available

    def upgrade(self, x: int) -> None:
        delta = rules.raise_allowance(self.w, x)
        self.w, self.ledger = rules.apply(self.w, delta), self.ledger + delta.allowance_granted
        assert self.w.allowance_granted >= x

    def reset(self, x: int) -> None:
        r = rules.rollover(self.w, _next_period(self.w.period), x)
        self.ledger += r.expired + r.granted
        self.w = r.wallet
        assert r.expired <= 0 and self.w.period_spent == 0

    def check(self) -> None:
        w = self.w
        # Invariant 1: never negative.
        assert w.available >= 0 and w.held >= 0
        assert w.allowance_remaining >= 0 and w.purchased_remaining >= 0
        # Invariant 3: conservation against the ledger.
        assert w.balance == self.ledger
        assert w.held == self.ledger_held == sum(self.holds)
        assert w.available == w.balance - w.held
        # Spending takes the allowance first.
        if w.purchased_remaining < w.purchased:
            assert w.allowance_remaining == 0


@settings(max_examples=400, deadline=None)
@given(start_allowance=st.integers(0, 1000), sequence=ops)
def test_random_sequences_keep_invariants(start_allowance: int, sequence: list[tuple[str, int]]) -> None:
    """The deltas production writes (hold, resolve, credit, debit, clawback, raise_allowance,
    rollover), applied as DynamoDB applies them (condition, then ADDs)."""
    books = Books(start_allowance)
    for op, x in sequence:
        getattr(books, op)(x)
        books.check()


def test_rollover_expires_allowance_and_keeps_purchased() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=100, period_spent=30, purchased=50, held=10, available=110)
    r = rules.rollover(w, "2026-12", 200)
    assert r.expired == -60 and r.granted == 200  # the 10 held by jobs in flight stay
    assert r.wallet.purchased == 50 and r.wallet.allowance_granted == 210
    assert r.wallet.available == 210 + 50 - 10


def test_rollover_keeps_allowance_held_by_jobs_in_flight() -> None:
    w = rules.apply(rules.Wallet(period="2026-11", allowance_granted=1, available=1), rules.hold(1))
    r = rules.rollover(w, "2026-12", 0)
    assert r.wallet.available == 0 and r.wallet.held == 1
    assert rules.apply(r.wallet, rules.resolve(1, 0)).available == 1


def test_rollover_after_overspending_allowance_uses_purchased() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=100, period_spent=130, purchased=50, held=0, available=20)
    r = rules.rollover(w, "2026-12", 100)
    assert r.expired == 0
    assert r.wallet.purchased == 20 and r.wallet.available == 120


def test_hold_beyond_available_is_refused() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=5, available=5)
    assert rules.hold(6).requires_available == 6
    with pytest.raises(ValueError):
        rules.apply(w, rules.hold(6))
    assert rules.apply(w, rules.hold(5)).available == 0


def test_settle_more_than_reserved_is_refused() -> None:
    with pytest.raises(ValueError):
        rules.resolve(3, 4)
    with pytest.raises(ValueError):
        rules.resolve(3, -1)
    assert rules.resolve(3, 2) == rules.Delta(held=-3, period_spent=2, available=1)


def test_deltas_move_exactly_the_pools_they_name() -> None:
    assert rules.hold(4).nonzero() == {"held": 4, "available": -4}
    assert rules.resolve(4, 0).nonzero() == {"held": -4, "available": 4}
    assert rules.credit(7).nonzero() == {"purchased": 7, "available": 7}
    assert rules.debit(7) == rules.Delta(period_spent=7, available=-7, requires_available=7)
    for negative in (rules.hold, rules.credit, rules.debit):
        with pytest.raises(ValueError):
            negative(-1)


def test_clawback_takes_purchased_first_then_allowance_then_records_debt() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=100, period_spent=0, purchased=50, held=30, available=120)
    d = rules.clawback(w, 200)
    assert (d.purchased, d.period_spent, d.available, d.debt) == (-50, 70, -120, 80)
    assert rules.apply(w, d).available == 0


def test_upgrade_never_lowers_the_allowance() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=1000, available=1000)
    assert rules.raise_allowance(w, 50) == rules.Delta()
    assert rules.raise_allowance(w, 10_000).nonzero() == {"allowance_granted": 9000, "available": 9000}


# --- found by mutation testing (docs/mutation.md): edges the tests above did not pin ----------


def test_zero_amounts_are_allowed_and_change_nothing() -> None:
    """A zero credit, debit or clawback is a no-op, not an error (negative is the error)."""
    w = rules.Wallet(period="2026-11", allowance_granted=10, available=10)
    for make in (rules.credit, rules.debit):
        assert make(0).nonzero() == {}
        assert rules.apply(w, make(0)) == w
    assert rules.clawback(w, 0) == rules.Delta()
    for make, message in ((rules.credit, "a credit is never negative"), (rules.debit, "a debit is never negative")):
        with pytest.raises(ValueError, match=f"^{message}$"):
            make(-1)
    with pytest.raises(ValueError, match="^owed is never negative$"):
        rules.clawback(w, -1)
    with pytest.raises(ValueError, match="^the condition available >= required does not hold$"):
        rules.apply(w, rules.debit(11))


def test_apply_adds_debt_to_the_debt_already_owed() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=10, period_spent=10, available=0, debt=5)
    after = rules.apply(w, rules.clawback(w, 7))
    assert after.debt == 12 and after.available == 0
    assert rules.apply(after, rules.Delta(debt=-12, purchased=12)).debt == 0


def test_clawback_is_bounded_by_owed_available_and_purchased() -> None:
    rich = rules.Wallet(period="2026-11", allowance_granted=100, purchased=50, available=150)
    assert rules.clawback(rich, 1) == rules.Delta(purchased=-1, available=-1)  # owed bounds the purchased part
    assert rules.clawback(rich, 60) == rules.Delta(purchased=-50, period_spent=10, available=-60)
    held = rules.Wallet(period="2026-11", allowance_granted=0, purchased=50, held=40, available=10)
    assert rules.clawback(held, 30) == rules.Delta(purchased=-10, available=-10, debt=20)  # what is held stays
    empty = rules.Wallet(period="2026-11", available=0)
    assert rules.clawback(empty, 3) == rules.Delta(debt=3)


def test_rollover_moves_the_wallet_to_the_new_period() -> None:
    w = rules.Wallet(period="2026-11", allowance_granted=100, period_spent=30, available=70)
    assert rules.rollover(w, "2026-12", 100).wallet.period == "2026-12"


def test_clawback_of_a_wallet_whose_credits_are_all_held_is_all_debt() -> None:
    held = rules.Wallet(period="2026-11", purchased=5, held=5, available=0)
    assert rules.clawback(held, 3) == rules.Delta(debt=3)
