"""Marketplace persistence: listings, the one-listing-per-template row, purchases, ratings and
reports. The only code that touches `ListingModel` and `MarketItemModel`.

Listings are read by key design, never a Scan: the `new` and `top` indexes hold only listings for
sale, in MARKET_SHARDS partitions merged by store/sharded_listing.py; `reported` holds the
reported ones still for sale, for the admins. A purchase's rows are added to the caller's
transaction (`purchase_in`), next to the wallet and earnings changes, so a sale is one
TransactWriteItems.

Ceilings (DESIGN "Scale"): a purchase writes its listing's row (sales count), so one listing
takes at most ~500 purchases a second (a transactional write costs 2 WCU of the key's 1,000);
everything else a purchase writes is the buyer's or the seller's own.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from chalicelib import ids
from chalicelib.clock import iso
from chalicelib.store import sharded_listing
from chalicelib.store.models import ListingModel, MarketItemModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

MARKET_SHARDS = 4
LISTING_SK = "listing"


def market_shard(listing_id: str) -> str:
    """The browse partition of a listing: fixed by its id."""
    return f"mkt#{zlib.crc32(listing_id.encode('utf-8')) % MARKET_SHARDS}"


def reported_shard(listing_id: str) -> str:
    return f"rep#{zlib.crc32(listing_id.encode('utf-8')) % MARKET_SHARDS}"


def top_rank(sales: int, listing_id: str) -> str:
    """The `top` index's key: sales (10 digits, so strings sort like numbers), then the id."""
    return f"{min(sales, 9_999_999_999):010d}#{listing_id}"


def _template_key(template_id: str) -> tuple[str, str]:
    return f"tpl#{template_id}", LISTING_SK


def _purchase_key(buyer_workspace_id: str, template_id: str) -> tuple[str, str]:
    return f"buy#{buyer_workspace_id}", f"tpl#{template_id}"


# --- listings -------------------------------------------------------------------------------


def new_listing(
    listing_id: str, *, workspace_id: str, template_id: str, created_by: str, price: int, name: str,
    tags: list[str], words: list[str], now: datetime,
) -> ListingModel:  # fmt: skip
    """A listing for sale, not yet written."""
    return ListingModel(
        listing_id, workspace_id=workspace_id, template_id=template_id, created_by=created_by, price_credits=price,
        status="active", name=name, tags=tags, words=words, sales=0, rating_total=0, rating_count=0, reports=0,
        created_at=now, updated_at=now, market_shard=market_shard(listing_id), top_rank=top_rank(0, listing_id),
    )  # fmt: skip


def create_listing(row: ListingModel) -> bool:
    """Write the listing and claim its template (one listing per template); False when the
    template was listed before."""
    pk, sk = _template_key(str(row.template_id))
    txn = Transaction()
    marker = MarketItemModel(pk, sk, listing_id=row.listing_id, workspace_id=row.workspace_id, created_at=row.created_at)
    txn.put("template", marker, MarketItemModel.pk.does_not_exist())
    txn.put("listing", row, ListingModel.listing_id.does_not_exist())
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "template" in cancelled.failures:
            return False
        raise
    return True


def get_listing(listing_id: str) -> ListingModel | None:
    if not ids.is_id(listing_id, "lst"):
        return None
    try:
        return ListingModel.get(listing_id, consistent_read=True)
    except ListingModel.DoesNotExist:
        return None


@dataclass(frozen=True)
class BrowseFilter:
    """What a browse narrows to: every word of `words` (words of the name) and the tag."""

    words: Sequence[str] = ()
    tag: str | None = None

    def condition(self) -> Any:
        parts: list[Any] = [ListingModel.words.contains(word) for word in self.words]
        if self.tag:
            parts.append(ListingModel.tags.contains(self.tag))
        return reduce(lambda a, b: a & b, parts) if parts else None


def browse_page(sort: str, limit: int, before: str | None, where: BrowseFilter) -> tuple[list[ListingModel], str | None]:
    """Listings for sale, newest (`new`) or best selling (`top`) first, below `before`."""
    index, key = (ListingModel.by_top, "top_rank") if sort == "top" else (ListingModel.by_new, "listing_id")
    listing = sharded_listing.Listing(ListingModel, index, key)
    shards = [f"mkt#{n}" for n in range(MARKET_SHARDS)]
    return sharded_listing.page(listing, shards, limit, before, where.condition())


def reported_page(limit: int, before: str | None) -> tuple[list[ListingModel], str | None]:
    """Reported listings still for sale, most recently reported first."""
    listing = sharded_listing.Listing(ListingModel, ListingModel.by_reported, "last_report")
    return sharded_listing.page(listing, [f"rep#{n}" for n in range(MARKET_SHARDS)], limit, before, None)


def hide_in(txn: Transaction, listing_id: str, actor: str, reason: str, now: datetime) -> None:
    """Take a listing off sale (out of every browse and the reports queue), if it is for sale."""
    txn.update(
        "listing",
        ListingModel(listing_id),
        [
            ListingModel.status.set("hidden"),
            ListingModel.hidden_at.set(now),
            ListingModel.hidden_by.set(actor),
            ListingModel.hidden_reason.set(reason),
            ListingModel.updated_at.set(now),
            ListingModel.market_shard.remove(),
            ListingModel.reported_shard.remove(),
        ],
        ListingModel.status == "active",
    )


def withdraw(listing_id: str, workspace_id: str, actor: str, now: datetime) -> bool:
    """The seller takes its listing off sale for good (out of every browse and the reports
    queue); False when it was withdrawn already. Purchases are untouched: buyers keep theirs."""
    txn = Transaction()
    txn.update(
        "listing",
        ListingModel(listing_id),
        [
            ListingModel.status.set("withdrawn"),
            ListingModel.withdrawn_at.set(now),
            ListingModel.withdrawn_by.set(actor),
            ListingModel.updated_at.set(now),
            ListingModel.market_shard.remove(),
            ListingModel.reported_shard.remove(),
        ],
        ListingModel.status.is_in("active", "hidden") & (ListingModel.workspace_id == workspace_id),
    )
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


def reprice(listing_id: str, workspace_id: str, price: int, now: datetime) -> bool:
    """A new price for a listing still for sale; False when it is not (hidden, withdrawn)."""
    txn = Transaction()
    txn.update(
        "listing",
        ListingModel(listing_id),
        [ListingModel.price_credits.set(price), ListingModel.updated_at.set(now)],
        (ListingModel.status == "active") & (ListingModel.workspace_id == workspace_id),
    )
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


# --- reports --------------------------------------------------------------------------------


def report(listing_id: str, reporter_workspace_id: str, reason: str, now: datetime) -> bool:
    """Count a report once per reporting workspace; False when it had reported the listing."""
    txn = Transaction()
    marker = MarketItemModel(f"report#{listing_id}", reporter_workspace_id, status=reason, created_at=now)
    txn.put("marker", marker, MarketItemModel.pk.does_not_exist())
    txn.update(
        "listing",
        ListingModel(listing_id),
        [
            ListingModel.reports.add(1),
            ListingModel.report_reasons.add({reason}),
            ListingModel.reported_shard.set(reported_shard(listing_id)),
            ListingModel.last_report.set(ids.new_id("rpt", now)),
        ],
        ListingModel.status == "active",
    )
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "marker" in cancelled.failures:
            return False
        raise
    return True


# --- purchases ------------------------------------------------------------------------------


def get_purchase(buyer_workspace_id: str, template_id: str) -> MarketItemModel | None:
    pk, sk = _purchase_key(buyer_workspace_id, template_id)
    try:
        return MarketItemModel.get(pk, sk, consistent_read=True)
    except MarketItemModel.DoesNotExist:
        return None


def purchase_in(
    txn: Transaction, listing: ListingModel, buyer_workspace_id: str, buyer_id: str, *, fee: int, net: int,
    earning_id: str, now: datetime,
) -> None:  # fmt: skip
    """The purchase row (only if the buyer does not own the template: never bought, or refunded)
    and the listing's sale count (only while it is for sale, never to its own workspace)."""
    pk, sk = _purchase_key(buyer_workspace_id, str(listing.template_id))
    row = MarketItemModel(
        pk, sk, listing_id=listing.listing_id, workspace_id=listing.workspace_id, template_id=listing.template_id,
        buyer_id=buyer_id, price=int(listing.price_credits), fee=fee, net=net, earning_id=earning_id,
        status="purchased", purchased_at=now, created_at=now, buyer_ws=buyer_workspace_id,
        bought_key=f"{iso(now)}#{listing.template_id}",
    )  # fmt: skip
    txn.put("purchase", row, MarketItemModel.pk.does_not_exist() | (MarketItemModel.status == "refunded"))
    txn.update(
        "listing",
        ListingModel(listing.listing_id),
        [
            ListingModel.sales.add(1),
            ListingModel.top_rank.set(top_rank(int(listing.sales or 0) + 1, listing.listing_id)),
            ListingModel.updated_at.set(now),
        ],
        (ListingModel.status == "active")
        & (ListingModel.workspace_id != buyer_workspace_id)
        & (ListingModel.price_credits == int(listing.price_credits)),  # the price the buyer is charged
    )


def purchases_page(buyer_workspace_id: str, limit: int, before: str | None) -> tuple[list[MarketItemModel], str | None]:
    """The workspace's purchases (refunded ones too), newest first, below `before`; one Query."""
    condition = MarketItemModel.bought_key < before if before else None
    query = MarketItemModel.by_buyer.query(
        buyer_workspace_id, condition, scan_index_forward=False, limit=limit + 1, page_size=limit + 1
    )
    rows = list(query)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, str(rows[-1].bought_key) if more and rows else None


def refund_in(txn: Transaction, purchase: MarketItemModel, now: datetime) -> None:
    """The purchase becomes refunded (only once) and the listing counts one sale less."""
    txn.update(
        "purchase",
        purchase,
        [MarketItemModel.status.set("refunded"), MarketItemModel.refunded_at.set(now), MarketItemModel.stars.remove()],
        MarketItemModel.status == "purchased",
    )
    actions = [ListingModel.sales.add(-1), ListingModel.updated_at.set(now)]
    if purchase.stars is not None:
        actions += [ListingModel.rating_total.add(-int(purchase.stars)), ListingModel.rating_count.add(-1)]
    txn.update("listing", ListingModel(str(purchase.listing_id)), actions)


def rate(purchase: MarketItemModel, stars: int) -> bool:
    """Set the buyer's rating and move the listing's totals by the difference, conditioned on the
    rating read (a concurrent change makes the caller re-read); False when that happened."""
    old = int(purchase.stars) if purchase.stars is not None else None
    txn = Transaction()
    unchanged = MarketItemModel.stars.does_not_exist() if old is None else MarketItemModel.stars == old
    txn.update("purchase", purchase, [MarketItemModel.stars.set(stars)], (MarketItemModel.status == "purchased") & unchanged)
    actions = [ListingModel.rating_total.add(stars - (old or 0))]
    if old is None:
        actions.append(ListingModel.rating_count.add(1))
    txn.update("listing", ListingModel(str(purchase.listing_id)), actions)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


# --- who may use a listed template ----------------------------------------------------------


@dataclass(frozen=True)
class TemplateAccess:
    """Is the template for sale (listed, ever), and does this workspace own a copy?"""

    listed: bool
    purchased: bool


def template_access(workspace_id: str, template_id: str) -> TemplateAccess:
    """One BatchGetItem: the template's listing row and this workspace's purchase of it."""
    keys = [_template_key(template_id), _purchase_key(workspace_id, template_id)]
    rows = {(r.pk, r.sk): r for r in MarketItemModel.batch_get(keys)}
    bought = rows.get(_purchase_key(workspace_id, template_id))
    return TemplateAccess(_template_key(template_id) in rows, bought is not None and bought.status == "purchased")


def listed_templates(template_ids: Iterable[str]) -> set[str]:
    """Which of these templates are (or were) for sale: one BatchGetItem."""
    keys = [_template_key(tid) for tid in set(template_ids)]
    if not keys:
        return set()
    return {str(r.pk).removeprefix("tpl#") for r in MarketItemModel.batch_get(keys)}
