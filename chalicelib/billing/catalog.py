"""What can be bought: credit packs and plan prices, found in Stripe by `lookup_key`.

Lookup keys: `<plan>_<interval>` for subscriptions (e.g. `pro_year`), `pack_<credits>` for packs
(e.g. `pack_1000`). Amounts are integer cents; the Stripe account holds the same prices.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.accounting.plans import PLANS


@dataclass(frozen=True)
class Pack:
    lookup_key: str
    credits: int
    amount_cents: int


PACKS: dict[str, Pack] = {
    p.lookup_key: p
    for p in (
        Pack("pack_1000", 1_000, 1_000),
        Pack("pack_5000", 5_000, 4_500),
        Pack("pack_20000", 20_000, 16_000),
    )
}

# Plans that can be subscribed to, per interval (yearly = 10 x monthly).
PLAN_PRICES_CENTS: dict[tuple[str, str], int] = {
    ("starter", "month"): 1_900,
    ("starter", "year"): 19_000,
    ("pro", "month"): 9_900,
    ("pro", "year"): 99_000,
    ("enterprise", "month"): 49_900,
    ("enterprise", "year"): 499_000,
}
INTERVALS = ("month", "year")

# A credit's list price (pack_1000: 1,000 credits for $10.00), in micro-USD: the admin overview
# values credits spent at it to show revenue against provider cost (gross margin).
CREDIT_LIST_PRICE_MICRO_USD = 10_000

# What one credit is worth to us when auto top-up buys credits off-session (cents per credit x 100).
TOPUP_CENTS_PER_100_CREDITS = 100


def plan_lookup_key(plan: str, interval: str) -> str:
    return f"{plan}_{interval}"


def parse_plan_lookup_key(key: str | None) -> tuple[str, str] | None:
    """`pro_year` -> ("pro", "year"); None for anything that is not a plan price."""
    if not key or "_" not in key:
        return None
    plan, _, interval = key.rpartition("_")
    if plan in PLANS and interval in INTERVALS and (plan, interval) in PLAN_PRICES_CENTS:
        return plan, interval
    return None


def topup_amount_cents(credits: int) -> int:
    return -(-credits * TOPUP_CENTS_PER_100_CREDITS // 100)
