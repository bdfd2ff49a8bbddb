"""/v1/billing/*: checkout and auto top-up; /webhooks/stripe; admin billing settings and the
Stripe events refused for good (rejected-events)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import cursors
from chalicelib.api.errors import Forbidden, InvalidRequest
from chalicelib.api.http import (
    Principal,
    authenticate,
    json_body,
    json_response,
    page_limit,
    query_params,
    require_admin,
    validate,
)
from chalicelib.api.routing import route

billing = Blueprint(__name__)


def _buyer(p: Principal) -> Principal:
    """Only owners and admins of the workspace spend its money (checkout, auto top-up)."""
    if p.user.role not in ("owner", "admin") and not p.is_admin:
        raise Forbidden("only workspace owners and admins can buy")
    return p


@billing.route("/v1/billing/checkout", methods=["POST"])
def checkout():
    from chalicelib.api.schemas import CheckoutCreate
    from chalicelib.billing.provider import provider_for

    request = billing.current_request
    p = _buyer(authenticate(request))
    body = validate(CheckoutCreate, json_body(request))
    url = provider_for(p.workspace).checkout(p.workspace, p.user.email, body)
    return json_response({"url": url})


@billing.route("/v1/billing/auto-topup", methods=["PUT"])
def auto_topup():
    from chalicelib.api.schemas import AutoTopupPut
    from chalicelib.billing.topup import configure

    request = billing.current_request
    p = _buyer(authenticate(request))
    body = validate(AutoTopupPut, json_body(request))
    if body.enabled and body.amount > body.monthly_cap:
        raise InvalidRequest("amount must not exceed monthly_cap", field="amount")
    view = configure(p.workspace.workspace_id, enabled=body.enabled, threshold=body.threshold, amount=body.amount,
                     monthly_cap=body.monthly_cap, actor=p.user.user_id)
    return json_response({"auto_topup": view})


@billing.route("/webhooks/stripe", methods=["POST"], content_types=["application/json", "text/plain"])
def stripe_webhook():
    from chalicelib.billing.webhook import receive

    request = billing.current_request
    result = receive(request.raw_body or b"", (request.headers or {}).get("stripe-signature"))
    answer = {"received": True, "outcome": result.outcome}
    if result.outcome == "rejected":
        answer["reason"] = result.detail  # shown in Stripe's dashboard next to the delivery
    return json_response(answer)


@route(billing, "/admin/api/workspaces/{workspace_id}/billing", methods=["PUT"])
def admin_billing(workspace_id: str):
    from chalicelib import clock, ids
    from chalicelib.api.schemas import BillingProviderPut
    from chalicelib.store.models import AuditModel, WorkspaceModel
    from chalicelib.tenancy import get_workspace

    p = authenticate(billing.current_request, allow_banned=True)
    require_admin(p)
    body = validate(BillingProviderPut, json_body(billing.current_request))
    ws = get_workspace(workspace_id)
    before = dict(ws.billing or {})
    after = {**before, "provider": body.provider}
    ws.update(actions=[WorkspaceModel.billing.set(after)])
    AuditModel(workspace_id, ids.new_id("aud", clock.now()), actor=p.user.user_id, action="billing.provider",
               before={"provider": before.get("provider", "stripe")}, after={"provider": body.provider},
               reason=body.reason, created_at=clock.now()).save()
    return json_response({"workspace_id": workspace_id, "billing": after})


@billing.route("/admin/api/billing/rejected-events", methods=["GET"])
def admin_rejected_events():
    """Signed Stripe events we acknowledged but refused (malformed, unknown workspace, money that
    does not match the catalog), newest first: each is a payment or change to look at by hand."""
    from chalicelib.billing.events import list_rejected

    require_admin(authenticate(billing.current_request, allow_banned=True))
    params = query_params(billing.current_request)
    rows, last = list_rejected(page_limit(params), cursors.decode(params, "rejected_events", "platform"))
    return json_response({"data": rows, "next_cursor": cursors.encode("rejected_events", "platform", last)})
