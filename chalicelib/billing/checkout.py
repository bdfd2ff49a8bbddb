"""Stripe Checkout Sessions for credit packs (one-time) and plans (subscriptions)."""

from __future__ import annotations

from typing import Any

from chalicelib.billing import gateway
from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS, plan_lookup_key
from chalicelib.billing.config import public_base_url
from chalicelib.errors import InvalidRequest
from chalicelib.store.models import WorkspaceModel


def create_checkout(workspace: WorkspaceModel, email: str | None, body: Any) -> str:
    """The session carries what the webhook needs: workspace id, kind, pack/plan, credits."""
    ws_id = workspace.workspace_id
    billing = dict(workspace.billing or {})
    customer = gateway.ensure_customer(ws_id, email, billing.get("customer_id"))
    if billing.get("customer_id") != customer:
        billing["customer_id"] = customer
        workspace.update(actions=[WorkspaceModel.billing.set(billing)])
        from chalicelib import clock
        from chalicelib.store.models import MarkerModel

        MarkerModel(f"customer:{customer}", data={"workspace_id": ws_id}, created_at=clock.now()).save()
    base = public_base_url()
    common: dict[str, Any] = {
        "client_reference_id": ws_id,
        "customer": customer,
        "success_url": f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/billing/cancel",
    }
    if body.kind == "credit_pack":
        pack = PACKS.get(body.pack or "")
        if pack is None:
            raise InvalidRequest(f"unknown pack; one of {', '.join(PACKS)}", field="pack")
        price = gateway.price_by_lookup_key(pack.lookup_key)
        metadata = {"workspace_id": ws_id, "kind": "credit_pack", "pack": pack.lookup_key, "credits": str(pack.credits)}
        session = gateway.create_checkout_session({
            **common, "mode": "payment", "line_items": [{"price": price.id, "quantity": 1}], "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "setup_future_usage": "off_session"},
        })
        return str(session.url)
    interval = body.interval or "month"
    if (body.plan, interval) not in PLAN_PRICES_CENTS:
        raise InvalidRequest("unknown plan/interval; plans: starter, pro, enterprise; interval: month or year", field="plan")
    price = gateway.price_by_lookup_key(plan_lookup_key(body.plan, interval))
    metadata = {"workspace_id": ws_id, "kind": "subscription", "plan": body.plan, "interval": interval}
    session = gateway.create_checkout_session({
        **common, "mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}], "metadata": metadata,
        "subscription_data": {"metadata": metadata},
    })
    return str(session.url)
