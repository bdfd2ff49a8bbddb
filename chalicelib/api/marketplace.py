"""/v1/marketplace/*, /v1/earnings, /v1/payouts*, the Stripe Connect webhook, and the admins'
marketplace moderation and refunds (API.md "Platform: marketplace").

Each route parses (auth, body, params), makes one call to a `chalicelib.marketplace` service
and renders a response model; the services' domain errors become envelopes in `api.routing.route`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import Request, Response

from chalicelib.api import cursors
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate, authenticate_admin, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.params import known
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.marketplace.earnings as earnings
    import chalicelib.marketplace.listings as listings
    import chalicelib.marketplace.purchases as purchases
    import chalicelib.templates.search as search
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    earnings = lazy_module("chalicelib.marketplace.earnings")
    listings = lazy_module("chalicelib.marketplace.listings")
    purchases = lazy_module("chalicelib.marketplace.purchases")
    search = lazy_module("chalicelib.templates.search")

marketplace = Blueprint(__name__)

BROWSE_PARAMETERS = ("q", "tag", "sort", "limit", "cursor")
SORTS = ("new", "top")
MAX_Q_CHARS = 200


@route(marketplace, "/v1/marketplace/listings", methods=["POST"])
def create_listing() -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_SELL)
    body = validate(schemas.ListingCreate, json_body(request))

    def create() -> Response:
        made = listings.create_listing(p.workspace_id, p.user_id, body.template_id, body.price_credits)
        return render(responses.ListingEnvelope.of(made), 201)

    return idempotent(request, p.replay_scope, create, marketplace.lambda_context)


@route(marketplace, "/v1/marketplace/listings", methods=["GET"])
def browse_listings() -> Response:
    request = marketplace.current_request
    authenticate(request, permissions.MARKETPLACE_BROWSE)
    params = known(query_params(request), BROWSE_PARAMETERS)
    query = _browse(params)
    scope = f"{query.sort}|{' '.join(query.words)}|{query.tag or ''}"
    before = _before(cursors.decode(params, "market.listings", scope))
    found, last = listings.browse(query, page_limit(params), before)
    return render(responses.ListingPage.of(found, cursors.encode("market.listings", scope, {"before": last} if last else None)))


@route(marketplace, "/v1/marketplace/listings/{listing_id}", methods=["GET"])
def get_listing(listing_id: str) -> Response:
    p = authenticate(marketplace.current_request, permissions.MARKETPLACE_BROWSE)
    return render(responses.ListingEnvelope.of(listings.get_listing(listing_id, p.workspace_id)))


@route(marketplace, "/v1/marketplace/listings/{listing_id}/purchase", methods=["POST"])
def purchase_listing(listing_id: str) -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_BUY)
    _no_body(request)

    def buy() -> Response:
        return render(responses.PurchaseEnvelope.of(purchases.purchase(listing_id, p.workspace_id, p.user_id)), 201)

    return idempotent(request, p.replay_scope, buy, marketplace.lambda_context)


@route(marketplace, "/v1/marketplace/listings/{listing_id}/ratings", methods=["POST"])
def rate_listing(listing_id: str) -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_RATE)
    body = validate(schemas.ListingRating, json_body(request))
    return render(responses.ListingEnvelope.of(listings.rate(listing_id, p.workspace_id, body.stars)))


@route(marketplace, "/v1/marketplace/listings/{listing_id}/reports", methods=["POST"])
def report_listing(listing_id: str) -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_REPORT)
    body = validate(schemas.ListingReport, json_body(request))
    return render(responses.ListingReportReceipt.of(listings.report(listing_id, p.workspace_id, body.reason)), 201)


@route(marketplace, "/v1/marketplace/listings/{listing_id}", methods=["DELETE"])
def withdraw_listing(listing_id: str) -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_WITHDRAW)
    listings.withdraw(listing_id, p.workspace_id, p.user_id)
    return no_content()


@route(marketplace, "/v1/marketplace/listings/{listing_id}", methods=["PATCH"])
def reprice_listing(listing_id: str) -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_REPRICE)
    body = validate(schemas.ListingUpdate, json_body(request))
    return render(responses.ListingEnvelope.of(listings.reprice(listing_id, p.workspace_id, body.price_credits)))


@route(marketplace, "/v1/marketplace/purchases", methods=["GET"])
def list_purchases() -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.MARKETPLACE_PURCHASES_READ)
    params = known(query_params(request), ("limit", "cursor"))
    before = _before(cursors.decode(params, "market.purchases", p.workspace_id))
    found, last = purchases.purchases_of(p.workspace_id, page_limit(params), before)
    next_cursor = cursors.encode("market.purchases", p.workspace_id, {"before": last} if last else None)
    return render(responses.PurchasePage.of(found, next_cursor))


@route(marketplace, "/v1/earnings", methods=["GET"])
def get_earnings() -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.EARNINGS_READ)
    known(query_params(request), ())
    return render(responses.EarningsView.of(earnings.earnings(p.workspace_id)))


@route(marketplace, "/v1/payouts/onboarding", methods=["POST"])
def payout_onboarding() -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.PAYOUTS_WRITE)
    _no_body(request)
    return render(responses.OnboardingUrl.of(earnings.onboarding(p.workspace_id)))


@route(marketplace, "/v1/payouts", methods=["POST"])
def create_payout() -> Response:
    request = marketplace.current_request
    p = authenticate(request, permissions.PAYOUTS_WRITE)
    body = validate(schemas.PayoutCreate, json_body(request))
    key = request.headers.get("idempotency-key")

    def pay() -> Response:
        return render(responses.PayoutEnvelope.of(earnings.request_payout(p.workspace_id, body.amount, p.user_id, key)), 201)

    return idempotent(request, p.replay_scope, pay, marketplace.lambda_context)


@route(marketplace, "/webhooks/stripe-connect", methods=["POST"], content_types=["application/json", "text/plain"])
def stripe_connect_webhook() -> Response:
    """Stripe Connect's deliveries (account.updated): the raw body is what the signature covers."""
    request = marketplace.current_request
    raw = request.raw_body or b""
    payload = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return render(responses.WebhookReceipt.of(earnings.receive_connect(payload, request.headers.get("stripe-signature"))))


# --- moderation and refunds (platform admins) -------------------------------------------------


@route(marketplace, "/admin/api/marketplace/reports", methods=["GET"])
def reported_listings() -> Response:
    request = marketplace.current_request
    caller = authenticate_admin(request)
    params = known(query_params(request), ("limit", "cursor"))
    before = _before(cursors.decode(params, "admin.market.reports", caller.user_id))
    found, last = listings.reported(page_limit(params), before)
    next_cursor = cursors.encode("admin.market.reports", caller.user_id, {"before": last} if last else None)
    return render(responses.ReportedListingPage.of(found, next_cursor))


@route(marketplace, "/admin/api/marketplace/listings/{listing_id}/hide", methods=["POST"])
def hide_listing(listing_id: str) -> Response:
    request = marketplace.current_request
    caller = authenticate_admin(request)
    body = validate(schemas.HideListing, json_body(request))
    return render(responses.HiddenListingView.of(listings.hide(listing_id, caller.user_id, body.reason)))


@route(marketplace, "/admin/api/marketplace/refunds", methods=["POST"])
def refund_purchase() -> Response:
    request = marketplace.current_request
    caller = authenticate_admin(request)
    body = validate(schemas.RefundPurchase, json_body(request))

    def refund() -> Response:
        done = purchases.refund(body.listing_id, body.workspace_id, caller.user_id, body.reason)
        return render(responses.PurchaseEnvelope.of(done))

    return idempotent(request, caller.user_id, refund, marketplace.lambda_context)


# --- parsing ----------------------------------------------------------------------------------


def _browse(params: dict[str, str]) -> listings.Browse:
    """`sort` (new, top), `q` (up to 5 words of the name, all must match) and `tag`."""
    sort = params.get("sort") or "new"
    if sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}", field="sort")
    text = params.get("q", "")
    words = search.words(text)
    if len(text) > MAX_Q_CHARS or len(words) > search.MAX_QUERY_WORDS:
        raise InvalidRequest(f"q: at most {search.MAX_QUERY_WORDS} words and {MAX_Q_CHARS} characters", field="q")
    tag = params.get("tag") or None
    if tag is not None and not search.TAG.fullmatch(tag):
        raise InvalidRequest("tag: lower-case letters, digits and dashes, at most 32", field="tag")
    return listings.Browse(sort, tuple(words), tag)


def _no_body(request: Request) -> None:
    """These routes take no body: an absent or empty one, or `{}`; anything else is 400."""
    if json_body(request):
        raise InvalidRequest("this route takes no body (or an empty JSON object)")


def _before(position: dict[str, Any] | None) -> str | None:
    """Where a signed cursor resumes (it was issued by this listing, so it is well formed)."""
    if position is None:
        return None
    before = position.get("before")
    if not isinstance(before, str):
        raise InvalidRequest("cursor is not valid: pass next_cursor of the same listing unchanged", field="cursor")
    return before
