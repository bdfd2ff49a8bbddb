"""Wallet arithmetic as pure functions: what every DynamoDB transaction does, in Python.

balance   = allowance_granted - period_spent + purchased
available = balance - held
Spending takes the allowance first, so the pools shown to people are derived:
allowance used = min(granted, spent); purchased left = purchased - max(0, spent - granted).
The adapter applies exactly these deltas with `ADD`, and the property tests check them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Wallet:
    period: str
    allowance_granted: int = 0
    period_spent: int = 0
    purchased: int = 0
    held: int = 0
    available: int = 0
    debt: int = 0

    @property
    def balance(self) -> int:
        return self.allowance_granted - self.period_spent + self.purchased

    @property
    def allowance_used(self) -> int:
        return min(self.allowance_granted, self.period_spent)

    @property
    def allowance_remaining(self) -> int:
        return self.allowance_granted - self.allowance_used

    @property
    def purchased_remaining(self) -> int:
        return self.purchased - max(0, self.period_spent - self.allowance_granted)


@dataclass(frozen=True)
class Rollover:
    """The new period's pools and the two ledger amounts that explain the change."""

    wallet: Wallet
    expired: int  # leftover allowance removed (<= 0 as a ledger amount)
    granted: int  # the new period's allowance (>= 0)


@dataclass(frozen=True)
class Delta:
    """One wallet change, as the adapter writes it: `ADD field :value` for every non-zero field,
    under the condition `available >= requires_available` (conditions cannot do arithmetic, so
    the bound is computed here). Every transaction that moves credits builds its update from one
    of the functions below, and the property tests drive the same functions."""

    allowance_granted: int = 0
    period_spent: int = 0
    purchased: int = 0
    held: int = 0
    available: int = 0
    debt: int = 0
    requires_available: int = 0

    def nonzero(self) -> dict[str, int]:
        """The fields to ADD (what the adapter turns into update actions)."""
        names = ("allowance_granted", "period_spent", "purchased", "held", "available", "debt")
        return {name: getattr(self, name) for name in names if getattr(self, name)}


def hold(credits: int) -> Delta:
    """Admission: reserve a job's worst case."""
    if credits < 0:
        raise ValueError("a hold is never negative")
    return Delta(held=credits, available=-credits, requires_available=credits)


def resolve(reserved: int, actual: int) -> Delta:
    """Settlement (actual > 0) or release (actual = 0): the hold ends, `actual` of it is spent."""
    if not 0 <= actual <= reserved:
        raise ValueError("actual must be within the hold")
    return Delta(held=-reserved, period_spent=actual, available=reserved - actual)


def credit(amount: int) -> Delta:
    """Purchased credits, grants and positive adjustments (never expire)."""
    if amount < 0:
        raise ValueError("a credit is never negative")
    return Delta(purchased=amount, available=amount)


def debit(amount: int) -> Delta:
    """A negative adjustment: spends like a job (allowance first); never below available 0."""
    if amount < 0:
        raise ValueError("a debit is never negative")
    return Delta(period_spent=amount, available=-amount, requires_available=amount)


def raise_allowance(w: Wallet, allowance: int) -> Delta:
    """An upgrade mid-period: the allowance becomes `allowance` now (never lowered)."""
    more = max(0, allowance - w.allowance_granted)
    return Delta(allowance_granted=more, available=more)


def clawback(w: Wallet, owed: int) -> Delta:
    """Take back `owed` credits (refund, dispute): purchased first, then allowance, never below
    available 0; what cannot be covered becomes debt."""
    if owed < 0:
        raise ValueError("owed is never negative")
    from_purchased = min(owed, max(0, w.purchased_remaining), max(0, w.available))
    from_allowance = min(owed - from_purchased, max(0, w.available - from_purchased))
    taken = from_purchased + from_allowance
    return Delta(purchased=-from_purchased, period_spent=from_allowance, available=-taken, debt=owed - taken)


def apply(w: Wallet, d: Delta) -> Wallet:
    """What DynamoDB does with the delta: refused when the condition fails, else every ADD."""
    if w.available < d.requires_available:
        raise ValueError("the condition available >= required does not hold")
    return replace(
        w,
        allowance_granted=w.allowance_granted + d.allowance_granted,
        period_spent=w.period_spent + d.period_spent,
        purchased=w.purchased + d.purchased,
        held=w.held + d.held,
        available=w.available + d.available,
        debt=w.debt + d.debt,
    )


def rollover(w: Wallet, new_period: str, allowance: int) -> Rollover:
    """Start `new_period`: leftover allowance expires, purchased credits carry over.

    Allowance still held by jobs in flight does not expire (their holds would otherwise
    exceed the wallet and `available` could go negative): it moves into the new period's
    allowance, so what those jobs do not use is returned there.
    """
    carried = w.purchased_remaining
    kept_for_holds = min(w.held, w.allowance_remaining)
    expired = w.allowance_remaining - kept_for_holds
    granted_total = allowance + kept_for_holds
    new = replace(
        w,
        period=new_period,
        allowance_granted=granted_total,
        period_spent=0,
        purchased=carried,
        available=granted_total + carried - w.held,
    )
    return Rollover(new, expired=-expired, granted=allowance)
