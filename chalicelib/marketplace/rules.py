"""The marketplace's money and time rules, pure (no boto3, no Stripe): unit-tested alone.

One place for each number the marketplace lives by:

- `PLATFORM_FEE_BPS`: the platform's share of every sale, in basis points (1/100 of a percent).
  The fee is rounded down, so the creator gets any odd credit: `fee + net == price` always.
- `HOLD_DAYS`: how long a sale's earnings stay `pending` before they become `available`
  (the window in which an admin refund or a chargeback can still take them back).
- `PAYOUT_CENTS_PER_CREDIT`: what one earned credit is paid out as (a credit's list price is
  one cent: `pack_1000` is 1,000 credits for $10.00). Integers only, no rounding anywhere.
- `MIN_PAYOUT_CREDITS` / `MAX_PAYOUT_CREDITS`: the bounds of one payout.
- `MIN_PRICE_CREDITS` / `MAX_PRICE_CREDITS`: the bounds of a listing's price.
- `PAYOUT_SWEEP_AFTER`: when a payout still waiting for Stripe's answer is finished by the sweeper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PLATFORM_FEE_BPS = 2_000  # 20 %
BPS = 10_000
HOLD_DAYS = 14
HOLD_PERIOD = timedelta(days=HOLD_DAYS)
PAYOUT_CENTS_PER_CREDIT = 1
MIN_PAYOUT_CREDITS = 1_000  # $10.00
MAX_PAYOUT_CREDITS = 10_000_000  # $100,000.00 in one transfer
MIN_PRICE_CREDITS = 1
MAX_PRICE_CREDITS = 100_000
PAYOUT_CURRENCY = "usd"
# A payout still `requested` this long after its reservation lost Stripe's answer (a crash, a
# timeout): the payout sweeper asks Stripe again with the same idempotency key. Far longer than
# any request that is still waiting for the answer (API Gateway gives up after 29 s).
PAYOUT_SWEEP_AFTER = timedelta(minutes=5)
PAYOUT_SWEEP_BATCH = 100  # payouts finished per sweep run (every 5 minutes)


@dataclass(frozen=True)
class Split:
    """Where a sale's credits go: the platform's fee and the creator's earnings."""

    price: int
    fee: int
    net: int


def split(price: int, fee_bps: int = PLATFORM_FEE_BPS) -> Split:
    """The fee (rounded down) and what the creator earns; they always add up to the price."""
    if price < 0:
        raise ValueError("a price is never negative")
    if not 0 <= fee_bps <= BPS:
        raise ValueError("the fee is between 0 and 10,000 basis points")
    fee = price * fee_bps // BPS
    return Split(price=price, fee=fee, net=price - fee)


def valid_price(price: int) -> bool:
    """A listing's price: an integer number of credits within the bounds."""
    return isinstance(price, int) and not isinstance(price, bool) and MIN_PRICE_CREDITS <= price <= MAX_PRICE_CREDITS


def matures_at(sold_at: datetime) -> datetime:
    """When a sale's earnings stop being pending."""
    return sold_at + HOLD_PERIOD


def is_mature(sold_at: datetime, now: datetime) -> bool:
    """True once the holding period of a sale made at `sold_at` has passed."""
    return now >= matures_at(sold_at)


def payout_cents(credits: int) -> int:
    """The money a payout of `credits` earned credits sends, in cents."""
    if credits < 0:
        raise ValueError("a payout is never negative")
    return credits * PAYOUT_CENTS_PER_CREDIT


@dataclass(frozen=True)
class PayoutCheck:
    """Why a payout may not happen now (`reason` None: it may)."""

    reason: str | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def payout_eligibility(amount: int, available: int, *, has_account: bool, payouts_enabled: bool) -> PayoutCheck:
    """May `amount` credits be paid out now? The order of the checks is the order a creator fixes
    them in: the amount itself, then the connected account, then the earnings."""
    if not MIN_PAYOUT_CREDITS <= amount <= MAX_PAYOUT_CREDITS:
        return PayoutCheck("amount", f"a payout is between {MIN_PAYOUT_CREDITS} and {MAX_PAYOUT_CREDITS} credits")
    if not has_account:
        return PayoutCheck("no_account", "connect a payout account first: POST /v1/payouts/onboarding")
    if not payouts_enabled:
        return PayoutCheck("payouts_disabled", "the connected account cannot receive payouts yet (finish onboarding)")
    if amount > available:
        return PayoutCheck("insufficient_earnings", f"only {available} credits of earnings are available")
    return PayoutCheck(None)


def average_stars(total: int, count: int) -> float | None:
    """The mean rating, one decimal (None before the first rating)."""
    return round(total / count, 1) if count else None
