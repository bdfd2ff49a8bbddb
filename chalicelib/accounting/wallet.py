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


def hold(w: Wallet, credits: int) -> Wallet:
    if credits < 0 or w.available < credits:
        raise ValueError("hold exceeds available")
    return replace(w, held=w.held + credits, available=w.available - credits)


def settle(w: Wallet, reserved: int, actual: int) -> Wallet:
    """Turn a hold into the actual charge (actual <= reserved; the rest returns)."""
    if not 0 <= actual <= reserved:
        raise ValueError("actual must be within the hold")
    return replace(
        w,
        held=w.held - reserved,
        period_spent=w.period_spent + actual,
        available=w.available + reserved - actual,
    )


def release(w: Wallet, reserved: int) -> Wallet:
    return replace(w, held=w.held - reserved, available=w.available + reserved)


def credit(w: Wallet, amount: int) -> Wallet:
    """Purchased credits, grants and positive adjustments (never expire)."""
    return replace(w, purchased=w.purchased + amount, available=w.available + amount)


def debit(w: Wallet, amount: int) -> Wallet:
    """A negative adjustment: spends like a job (allowance first); never below available 0."""
    if amount < 0 or w.available < amount:
        raise ValueError("debit exceeds available")
    return replace(w, period_spent=w.period_spent + amount, available=w.available - amount)


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
