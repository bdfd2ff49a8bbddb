"""Buying a listed template, refunding it (platform admins), and who may use a listed template.

A purchase is ONE TransactWriteItems (`ledger.apply_change` with the marketplace's items added):

- the buyer's wallet pays the price (allowance first, like a job; `available >= price` or 402),
  with its `marketplace_purchase` ledger entry;
- the purchase row, only if the buyer does not own the template yet (exactly once: replays,
  concurrent purchases and re-buying all meet this condition; a refunded purchase may be bought
  again);
- the listing's sales count, only while it is for sale and never by its own workspace;
- the creator's earnings: a `sale` entry of the price less the platform fee (rules.split), pending
  for the holding period, and the account's `pending` pool.

A refund reverses both sides in one transaction too: the buyer's wallet is credited back (a
`marketplace_refund` ledger entry), the creator's sale leaves the pool it is in, the purchase is
refunded and the listing counts one sale less, with the audit row. Once the creator was paid the
sale's earnings out (available no longer covers it), the refund is refused (409).
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import clock, ids
from chalicelib.accounting import ledger
from chalicelib.accounting.errors import InsufficientForAdjustment
from chalicelib.accounting.periods import period_of
from chalicelib.accounting.plans import get_plan
from chalicelib.marketplace import rules
from chalicelib.marketplace.errors import (
    AlreadyPurchased,
    ListingNotFound,
    NotEnoughCredits,
    NotForSale,
    NotRefundable,
    OwnListing,
    PriceChanged,
    PurchaseNotFound,
)
from chalicelib.marketplace.listings import visible
from chalicelib.marketplace.records import PurchaseRecord
from chalicelib.store import audit
from chalicelib.store import earnings as earnings_store
from chalicelib.store import marketplace as store
from chalicelib.store.models import ListingModel, MarketItemModel
from chalicelib.store.transaction import Transaction, TransactionCancelled


def _record(row: MarketItemModel, buyer: str, *, replayed: bool = False) -> PurchaseRecord:
    return PurchaseRecord(
        listing_id=str(row.listing_id), template_id=str(row.template_id), buyer_workspace_id=buyer,
        price_credits=int(row.price or 0), fee_credits=int(row.fee or 0), creator_credits=int(row.net or 0),
        status=str(row.status), purchased_at=row.purchased_at or clock.now(), refunded_at=row.refunded_at, replayed=replayed,
    )  # fmt: skip


def _current_period(workspace_id: str, now: datetime) -> None:
    """Start the month on a wallet still in an older one (as admission does) before spending."""
    wallet = ledger.get_wallet(workspace_id)
    if wallet.period < period_of(now):
        ledger.roll_over(workspace_id, period_of(now), get_plan(wallet.plan).monthly_allowance, now)


def purchase(listing_id: str, buyer: str, user_id: str) -> PurchaseRecord:
    """Buy a listing for the buyer's workspace: the price leaves its wallet and, less the fee,
    lands in the creator's pending earnings, once."""
    row = visible(listing_id, buyer)
    if row.workspace_id == buyer:
        raise OwnListing("a workspace cannot buy its own listing")
    if row.status != "active":
        raise NotForSale("this listing is not for sale")
    owned = store.get_purchase(buyer, str(row.template_id))
    if owned is not None and owned.status == "purchased":
        raise AlreadyPurchased("this workspace owns this template already", listing_id=listing_id)
    now = clock.now()
    _current_period(buyer, now)
    _pay(row, buyer, user_id, now)
    bought = store.get_purchase(buyer, str(row.template_id))
    assert bought is not None  # written by the transaction that just committed
    return _record(bought, buyer)


def _pay(row: ListingModel, buyer: str, user_id: str, now: datetime) -> None:
    """The one transaction of a purchase; its refusals as the marketplace's errors."""
    price = int(row.price_credits)
    cut = rules.split(price)
    seller = str(row.workspace_id)

    def market_items(txn: Transaction) -> None:
        earning = earnings_store.sale_in(
            txn, seller, cut.net, listing_id=str(row.listing_id), buyer=buyer, matures=rules.matures_at(now), now=now
        )
        store.purchase_in(txn, row, buyer, user_id, fee=cut.fee, net=cut.net, earning_id=earning, now=now)

    change = ledger.Change(
        buyer, -price, f"marketplace purchase of {row.listing_id}", user_id, entry_type="marketplace_purchase",
        details={"listing_id": str(row.listing_id), "template_id": str(row.template_id), "fee": cut.fee, "creator": cut.net},
        audited=False,
    )  # fmt: skip
    try:
        ledger.apply_change(change, now, market_items)
    except InsufficientForAdjustment as short:
        raise NotEnoughCredits(f"the price is {price} credits; {short.available} are available", required=price) from None
    except TransactionCancelled as cancelled:
        if "purchase" in cancelled.failures:
            raise AlreadyPurchased("this workspace owns this template already", listing_id=str(row.listing_id)) from None
        if "listing" in cancelled.failures:
            raise _listing_moved(row) from None
        raise


def _listing_moved(read: ListingModel) -> NotForSale | PriceChanged:
    """Why the listing's condition failed: repriced meanwhile, or no longer for sale."""
    now = store.get_listing(str(read.listing_id))
    if now is not None and now.status == "active" and int(now.price_credits) != int(read.price_credits):
        price = int(now.price_credits)
        return PriceChanged(f"the price changed to {price} credits meanwhile; nothing was charged", price_credits=price)
    return NotForSale("this listing is not for sale")


def refund(listing_id: str, buyer: str, actor: str, reason: str) -> PurchaseRecord:
    """An admin's refund of one workspace's purchase: both sides reversed in one transaction."""
    row = store.get_listing(listing_id)
    bought = store.get_purchase(buyer, str(row.template_id)) if row is not None else None
    if row is None:
        raise ListingNotFound(listing_id)
    if bought is None or bought.status != "purchased":
        raise PurchaseNotFound(f"no purchase of {listing_id} by {buyer} to refund")
    sale = earnings_store.get_entry(str(row.workspace_id), str(bought.earning_id))
    if sale is None or sale.status not in ("pending", "matured"):
        raise NotRefundable("the creator's side of this sale cannot be reversed")
    now = clock.now()

    def reverse(txn: Transaction) -> None:
        store.refund_in(txn, bought, now)
        earnings_store.refund_in(txn, sale, actor, reason, now)
        audit.audit_in(txn, str(row.workspace_id), actor, "marketplace.sale.refund", before={"earnings": int(sale.amount or 0)},
                       after={"earnings": 0, "buyer": buyer, "listing_id": listing_id}, reason=reason, now=now)  # fmt: skip

    change = ledger.Change(
        buyer, int(bought.price or 0), f"marketplace refund of {listing_id}: {reason}", actor, entry_type="marketplace_refund",
        details={"listing_id": listing_id, "template_id": str(row.template_id)},
    )  # fmt: skip
    try:
        ledger.apply_change(change, now, reverse)
    except TransactionCancelled as cancelled:
        if "purchase" in cancelled.failures:
            raise PurchaseNotFound(f"no purchase of {listing_id} by {buyer} to refund") from None
        raise NotRefundable("the creator was paid this sale's earnings out already; it cannot be reversed") from None
    refunded = store.get_purchase(buyer, str(row.template_id))
    return _record(refunded or bought, buyer)


def purchases_of(workspace_id: str, limit: int, before: str | None) -> tuple[list[PurchaseRecord], str | None]:
    """The workspace's purchases, newest first (refunded ones too, marked so), and where the
    next page starts."""
    rows, last = store.purchases_page(workspace_id, limit, before)
    return [_record(row, workspace_id) for row in rows], last


def owns(workspace_id: str, template_id: str) -> store.TemplateAccess:
    """Is the template for sale, and does the workspace own a copy (templates' access check)."""
    if not ids.is_id(template_id, "tpl"):
        return store.TemplateAccess(listed=False, purchased=False)
    return store.template_access(workspace_id, template_id)


def listed_among(template_ids: list[str]) -> set[str]:
    """The templates among these that are (or were) listed: kept out of free public use."""
    return store.listed_templates(template_ids)
