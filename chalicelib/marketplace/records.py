"""What the marketplace's use cases hand out (typed records; the API renders them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ListingRecord:
    """A listing as anyone may see it (never the template's prompt), plus the caller's own
    relation to it: `mine` (the caller's workspace sells it), `purchased` and `my_stars`."""

    listing_id: str
    template_id: str
    name: str
    tags: tuple[str, ...]
    price_credits: int
    status: str
    sales: int
    rating_average: float | None
    rating_count: int
    creator: str
    created_at: datetime
    mine: bool = False
    purchased: bool = False
    my_stars: int | None = None
    reports: int = 0
    hidden_reason: str | None = None


@dataclass(frozen=True)
class PurchaseRecord:
    """One workspace's purchase of a listing (or its refund)."""

    listing_id: str
    template_id: str
    buyer_workspace_id: str
    price_credits: int
    fee_credits: int
    creator_credits: int
    status: str
    purchased_at: datetime
    refunded_at: datetime | None = None
    replayed: bool = False


@dataclass(frozen=True)
class Earnings:
    """A creator workspace's earnings pools and its payout account's state."""

    pending: int
    available: int
    paid_out: int
    hold_days: int
    payout_account: str | None
    payouts_enabled: bool


@dataclass(frozen=True)
class PayoutRecord:
    """One payout: credits taken from available earnings and the money Stripe transferred."""

    payout_id: str
    amount: int
    cents: int
    currency: str
    status: str
    transfer_id: str | None
    created_at: datetime
