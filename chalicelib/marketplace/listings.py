"""Listing use cases: list a public template for sale, browse, read one, rate, report, and the
moderators' queue and hiding.

Who sees what: a listing for sale, any signed-in caller; a hidden one, only its own workspace
(everyone else gets 404, as for an id that never existed); a withdrawn one, its own workspace and
the workspaces that bought it (they keep the template). What buyers see of a template is its
name, tags and price: the prompt is the product, shown only to those who own it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import clock, ids
from chalicelib.gallery.rules import creator_handle
from chalicelib.marketplace import rules
from chalicelib.marketplace.errors import (
    BadListing,
    ListingNotFound,
    NotBought,
    NotForSale,
    NotListable,
    OwnListing,
    TemplateNotYours,
)
from chalicelib.marketplace.records import ListingRecord
from chalicelib.store import audit
from chalicelib.store import marketplace as store
from chalicelib.store import templates as template_store
from chalicelib.store.models import ListingModel, MarketItemModel
from chalicelib.store.transaction import Contention, Transaction, TransactionCancelled
from chalicelib.templates import search

RATE_ATTEMPTS = 5


@dataclass(frozen=True)
class Browse:
    """A browse: `new` or `top`, the words of `?q=` and the `?tag=`."""

    sort: str = "new"
    words: tuple[str, ...] = ()
    tag: str | None = None


def record(row: ListingModel, viewer: str | None = None, purchase: MarketItemModel | None = None) -> ListingRecord:
    """The listing as `viewer` (a workspace) sees it."""
    owned = purchase is not None and purchase.status == "purchased"
    return ListingRecord(
        listing_id=str(row.listing_id), template_id=str(row.template_id), name=str(row.name),
        tags=tuple(str(t) for t in row.tags or ()), price_credits=int(row.price_credits), status=str(row.status),
        sales=int(row.sales or 0), rating_average=rules.average_stars(int(row.rating_total or 0), int(row.rating_count or 0)),
        rating_count=int(row.rating_count or 0), creator=creator_handle(str(row.workspace_id)), created_at=row.created_at,
        mine=viewer == row.workspace_id, purchased=owned,
        my_stars=int(purchase.stars) if owned and purchase is not None and purchase.stars is not None else None,
        reports=int(row.reports or 0), hidden_reason=row.hidden_reason,
    )  # fmt: skip


def create_listing(workspace_id: str, user_id: str, template_id: str, price: int) -> ListingRecord:
    """List one of the workspace's public templates for `price` credits (once per template)."""
    if not rules.valid_price(price):
        raise BadListing(f"price_credits must be {rules.MIN_PRICE_CREDITS}-{rules.MAX_PRICE_CREDITS}", field="price_credits")
    head = template_store.get(template_id) if ids.is_id(template_id, "tpl") else None
    if head is None or head.deleted_at is not None or head.workspace_id != workspace_id:
        raise TemplateNotYours(f"template {template_id} not found in this workspace", field="template_id")
    if head.visibility != "public":
        raise NotListable("only public templates can be listed: make it public first", field="template_id")
    now = clock.now()
    row = store.new_listing(
        ids.new_id("lst", now), workspace_id=workspace_id, template_id=template_id, created_by=user_id, price=price,
        name=str(head.name), tags=[str(t) for t in head.tags or ()], words=search.words(str(head.name)), now=now,
    )  # fmt: skip
    if not store.create_listing(row):
        raise NotListable(f"template {template_id} is listed already", field="template_id")
    return record(row, workspace_id)


def browse(query: Browse, limit: int, before: str | None) -> tuple[list[ListingRecord], str | None]:
    """A page of listings for sale, with where the next one starts."""
    rows, last = store.browse_page(query.sort, limit, before, store.BrowseFilter(query.words, query.tag))
    return [record(row) for row in rows], last


def visible(listing_id: str, workspace_id: str) -> ListingModel:
    """A listing this workspace may see: for sale, its own, or withdrawn but bought by it;
    ListingNotFound otherwise."""
    row = store.get_listing(listing_id)
    if row is not None and (row.status == "active" or row.workspace_id == workspace_id):
        return row
    if row is not None and row.status == "withdrawn":
        bought = store.get_purchase(workspace_id, str(row.template_id))
        if bought is not None and bought.status == "purchased":
            return row
    raise ListingNotFound(listing_id)


def own(listing_id: str, workspace_id: str) -> ListingModel:
    """One of the workspace's own listings (another workspace's is 404, as if it did not exist)."""
    row = store.get_listing(listing_id)
    if row is None or row.workspace_id != workspace_id:
        raise ListingNotFound(listing_id)
    return row


def withdraw(listing_id: str, workspace_id: str, user_id: str) -> None:
    """Take the workspace's listing off sale for good; buyers keep the template they paid for.
    Withdrawing twice changes nothing. The template stays sold (not free to the public): it
    cannot be listed again."""
    row = own(listing_id, workspace_id)
    if row.status != "withdrawn":
        store.withdraw(listing_id, workspace_id, user_id, clock.now())


def reprice(listing_id: str, workspace_id: str, price: int) -> ListingRecord:
    """A new price for the workspace's listing still for sale; later purchases pay it."""
    if not rules.valid_price(price):
        raise BadListing(f"price_credits must be {rules.MIN_PRICE_CREDITS}-{rules.MAX_PRICE_CREDITS}", field="price_credits")
    own(listing_id, workspace_id)
    if not store.reprice(listing_id, workspace_id, price, clock.now()):
        raise NotForSale("only a listing for sale can be repriced (this one is hidden or withdrawn)")
    return get_listing(listing_id, workspace_id)


def get_listing(listing_id: str, workspace_id: str) -> ListingRecord:
    """A listing's page: price, sales, ratings, and whether the caller owns it."""
    row = visible(listing_id, workspace_id)
    return record(row, workspace_id, store.get_purchase(workspace_id, str(row.template_id)))


def rate(listing_id: str, workspace_id: str, stars: int) -> ListingRecord:
    """A buyer's rating, 1-5 (one per buying workspace; rating again replaces it)."""
    row = visible(listing_id, workspace_id)
    if row.workspace_id == workspace_id:
        raise OwnListing("a workspace cannot rate its own listing")
    for _ in range(RATE_ATTEMPTS):
        purchase = store.get_purchase(workspace_id, str(row.template_id))
        if purchase is None or purchase.status != "purchased":
            raise NotBought("only a workspace that bought this template may rate it")
        if store.rate(purchase, stars):
            return get_listing(listing_id, workspace_id)
    raise Contention("the rating kept changing meanwhile; retry")


@dataclass(frozen=True)
class Reported:
    listing_id: str
    reason: str
    counted: bool


def report(listing_id: str, workspace_id: str, reason: str) -> Reported:
    """A report about a listing for sale, counted once per reporting workspace."""
    row = visible(listing_id, workspace_id)
    if row.status != "active":
        raise ListingNotFound(listing_id)
    try:
        counted = store.report(listing_id, workspace_id, reason, clock.now())
    except TransactionCancelled:  # hidden meanwhile
        raise ListingNotFound(listing_id) from None
    return Reported(listing_id, reason, counted)


# --- moderation (platform admins) -----------------------------------------------------------


def reported(limit: int, before: str | None) -> tuple[list[ListingRecord], str | None]:
    """Reported listings still for sale, most recently reported first."""
    rows, last = store.reported_page(limit, before)
    return [record(row) for row in rows], last


@dataclass(frozen=True)
class HiddenListing:
    listing: ListingRecord
    changed: bool


def hide(listing_id: str, actor: str, reason: str) -> HiddenListing:
    """Off sale and out of every browse, with its audit row in the same transaction; buyers keep
    the template they paid for (an admin refund takes it back). Hiding twice changes nothing."""
    row = store.get_listing(listing_id)
    if row is None:
        raise ListingNotFound(listing_id)
    if row.status == "hidden":
        return HiddenListing(record(row), changed=False)
    now = clock.now()
    txn = Transaction()
    store.hide_in(txn, listing_id, actor, reason, now)
    audit.audit_in(txn, str(row.workspace_id), actor, "marketplace.listing.hide", before={"listing_id": listing_id,
                   "status": "active"}, after={"listing_id": listing_id, "status": "hidden"}, reason=reason, now=now)  # fmt: skip
    try:
        txn.commit()
    except TransactionCancelled:
        return HiddenListing(record(store.get_listing(listing_id) or row), changed=False)
    return HiddenListing(record(store.get_listing(listing_id) or row), changed=True)
