"""Stripe Checkout Sessions for credit packs (one-time) and plans (subscriptions).

Everything is checked before anything is written or asked of Stripe: the pack or plan exists,
and a workspace never starts a second subscription while one is live (409: it changes or cancels
the one it has). A new subscription checkout also expires the workspace's previous open one, so
two browser tabs cannot both be paid.
"""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.api.errors import Conflict, InvalidRequest
from chalicelib.billing import gateway
from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS, Pack, plan_lookup_key
from chalicelib.billing.config import public_base_url
from chalicelib.store.models import MarkerModel, WorkspaceModel


def _what(workspace: WorkspaceModel, body: Any) -> tuple[Pack | None, tuple[str, str] | None]:
    """Reads only: the pack, or the (plan, interval), the body asks for."""
    if body.kind == "credit_pack":
        pack = PACKS.get(body.pack or "")
        if pack is None:
            raise InvalidRequest(f"unknown pack; one of {', '.join(PACKS)}", field="pack")
        return pack, None
    plan = (str(body.plan), body.interval or "month")
    if plan not in PLAN_PRICES_CENTS:
        raise InvalidRequest("unknown plan/interval; plans: starter, pro, enterprise; interval: month or year", field="plan")
    from chalicelib.billing.subscriptions import current_live

    live = current_live(workspace)
    if live is not None:
        raise Conflict(f"this workspace already has an active {live.plan} subscription ({live.subscription_id}); "
                       "a workspace has one subscription: change its plan or cancel it instead of starting another")
    return None, plan


def _customer(workspace: WorkspaceModel, email: str | None, billing: dict[str, Any]) -> str:
    customer = gateway.ensure_customer(workspace.workspace_id, email, billing.get("customer_id"))
    if billing.get("customer_id") != customer:
        billing["customer_id"] = customer
        workspace.update(actions=[WorkspaceModel.billing.set(billing)])
        MarkerModel(f"customer:{customer}", data={"workspace_id": workspace.workspace_id}, created_at=clock.now()).save()
    return customer


def create_checkout(workspace: WorkspaceModel, email: str | None, body: Any) -> str:
    """The session carries what the webhook needs: workspace id, kind, pack/plan, credits."""
    pack, plan = _what(workspace, body)
    billing = dict(workspace.billing or {})
    base = public_base_url()
    common: dict[str, Any] = {
        "client_reference_id": workspace.workspace_id,
        "customer": _customer(workspace, email, billing),
        "success_url": f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/billing/cancel",
    }
    if pack is not None:
        return _pack_session(workspace.workspace_id, pack, common)
    return _subscription_session(workspace.workspace_id, plan or ("", ""), common)


def _pack_session(ws_id: str, pack: Pack, common: dict[str, Any]) -> str:
    price = gateway.price_by_lookup_key(pack.lookup_key)
    metadata = {"workspace_id": ws_id, "kind": "credit_pack", "pack": pack.lookup_key, "credits": str(pack.credits)}
    session = gateway.create_checkout_session({
        **common, "mode": "payment", "line_items": [{"price": price.id, "quantity": 1}], "metadata": metadata,
        "payment_intent_data": {"metadata": metadata, "setup_future_usage": "off_session"},
    })
    return str(session.url)


def _subscription_session(ws_id: str, plan: tuple[str, str], common: dict[str, Any]) -> str:
    price = gateway.price_by_lookup_key(plan_lookup_key(*plan))
    metadata = {"workspace_id": ws_id, "kind": "subscription", "plan": plan[0], "interval": plan[1]}
    session = gateway.create_checkout_session({
        **common, "mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}], "metadata": metadata,
        "subscription_data": {"metadata": metadata},
    })
    try:
        previous = MarkerModel.get(f"subscription_checkout:{ws_id}", consistent_read=True).data.get("session_id")
    except MarkerModel.DoesNotExist:
        previous = None
    MarkerModel(f"subscription_checkout:{ws_id}", data={"session_id": str(session.id)}, created_at=clock.now()).save()
    if previous and previous != session.id:
        gateway.expire_checkout_session(str(previous))  # one open subscription checkout per workspace
    return str(session.url)
