"""/v1/billing/*: checkout and auto top-up; /webhooks/stripe; admin billing settings and the
Stripe events refused for good (rejected-events)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.api import cursors
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, require_admin, validate
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.billing.backends as backends
    import chalicelib.billing.checkout as checkouts
    import chalicelib.billing.events as events
    import chalicelib.billing.topup as topup
    import chalicelib.billing.webhook as webhook
else:
    backends = lazy_module("chalicelib.billing.backends")
    checkouts = lazy_module("chalicelib.billing.checkout")
    events = lazy_module("chalicelib.billing.events")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    topup = lazy_module("chalicelib.billing.topup")
    webhook = lazy_module("chalicelib.billing.webhook")

billing = Blueprint(__name__)


@route(billing, "/v1/billing/checkout", methods=["POST"])
def checkout() -> Response:
    request = billing.current_request
    p = authenticate(request, permissions.BILLING_WRITE)
    body = validate(schemas.CheckoutCreate, json_body(request))
    wanted = checkouts.CheckoutRequest(body.kind, pack=body.pack, plan=body.plan, interval=body.interval)
    return render(responses.CheckoutSessionUrl.of(backends.checkout(p.workspace.workspace_id, p.user.email, wanted)))


@route(billing, "/v1/billing/auto-topup", methods=["PUT"])
def auto_topup() -> Response:
    request = billing.current_request
    p = authenticate(request, permissions.BILLING_WRITE)
    body = validate(schemas.AutoTopupPut, json_body(request))
    state = topup.configure(
        p.workspace.workspace_id,
        enabled=body.enabled,
        threshold=body.threshold,
        amount=body.amount,
        monthly_cap=body.monthly_cap,
        actor=p.user.user_id,
    )
    return render(responses.AutoTopupEnvelope.of(state))


@route(billing, "/webhooks/stripe", methods=["POST"], content_types=["application/json", "text/plain"])
def stripe_webhook() -> Response:
    """Stripe's deliveries: the raw body is what the signature covers, so it is passed as sent."""
    request = billing.current_request
    raw = request.raw_body or b""
    payload = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return render(responses.WebhookReceipt.of(webhook.receive(payload, request.headers.get("stripe-signature"))))


@route(billing, "/admin/api/workspaces/{workspace_id}/billing", methods=["PUT"])
def admin_billing(workspace_id: str) -> Response:
    request = billing.current_request
    p = authenticate(request, permissions.SELF, allow_banned=True)
    require_admin(p)
    body = validate(schemas.BillingProviderPut, json_body(request))
    settings = backends.switch_backend(workspace_id, body.provider, actor=p.user.user_id, reason=body.reason)
    return render(responses.WorkspaceBillingEnvelope.of(workspace_id, settings))


@route(billing, "/admin/api/billing/rejected-events", methods=["GET"])
def admin_rejected_events() -> Response:
    """Signed Stripe events we acknowledged but refused (malformed, unknown workspace, money that
    does not match the catalog), newest first: each is a payment or change to look at by hand."""
    require_admin(authenticate(billing.current_request, permissions.SELF, allow_banned=True))
    params = query_params(billing.current_request)
    rows, last = events.list_rejected(page_limit(params), cursors.decode(params, "rejected_events", "platform"))
    return render(
        responses.Page[responses.RejectedEventView](
            data=[responses.RejectedEventView.of(r) for r in rows],
            next_cursor=cursors.encode("rejected_events", "platform", last),
        )
    )
