"""Stripe Checkout Sessions for credit packs (one-time) and plans (subscriptions).

Everything is checked before anything is written or asked of Stripe: the pack or plan exists,
and a workspace never starts a second subscription while one is live (409: it changes or cancels
the one it has). A new subscription checkout also expires the workspace's previous open one, so
two browser tabs cannot both be paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chalicelib import clock
from chalicelib.billing import gateway
from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS, Pack, plan_lookup_key
from chalicelib.billing.config import public_base_url
from chalicelib.billing.errors import SubscriptionExists, UnknownProduct
from chalicelib.billing.subscriptions import current_live
from chalicelib.store import billing_settings
from chalicelib.store.billing_settings import BillingSettings
from chalicelib.store.models import MarkerModel


@dataclass(frozen=True)
class CheckoutRequest:
    """What the buyer asks for: a pack (`pack`), or a plan and its interval (default monthly)."""

    kind: Literal["credit_pack", "subscription"]
    pack: str | None = None
    plan: str | None = None
    interval: str | None = None


def _what(settings: BillingSettings, request: CheckoutRequest) -> Pack | tuple[str, str]:
    """Reads only: the pack, or the (plan, interval), the request asks for."""
    if request.kind == "credit_pack":
        pack = PACKS.get(request.pack or "")
        if pack is None:
            raise UnknownProduct(f"unknown pack; one of {', '.join(PACKS)}", field="pack")
        return pack
    plan = (str(request.plan), request.interval or "month")
    if plan not in PLAN_PRICES_CENTS:
        raise UnknownProduct("unknown plan/interval; plans: starter, pro, enterprise; interval: month or year", field="plan")
    live = current_live(settings)
    if live is not None:
        raise SubscriptionExists(
            f"this workspace already has an active {live.plan} subscription "
            f"({live.subscription_id}); a workspace has one subscription: change its plan or "
            "cancel it instead of starting another"
        )
    return plan


def _customer(workspace_id: str, email: str | None, settings: BillingSettings) -> str:
    """The workspace's Stripe customer, created and saved the first time it buys."""
    customer = gateway.ensure_customer(workspace_id, email, settings.customer_id)
    if settings.customer_id != customer:
        billing_settings.save_customer(workspace_id, customer)
    return customer


def create_checkout(workspace_id: str, email: str | None, settings: BillingSettings, request: CheckoutRequest) -> str:
    """The session's URL. It carries what the webhook needs: workspace id, kind, pack/plan, credits."""
    what = _what(settings, request)
    base = public_base_url()
    common: dict[str, Any] = {
        "client_reference_id": workspace_id,
        "customer": _customer(workspace_id, email, settings),
        "success_url": f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/billing/cancel",
    }
    if isinstance(what, Pack):
        return _pack_session(workspace_id, what, common)
    return _subscription_session(workspace_id, what, common)


def _pack_session(ws_id: str, pack: Pack, common: dict[str, Any]) -> str:
    price = gateway.price_by_lookup_key(pack.lookup_key)
    metadata = {"workspace_id": ws_id, "kind": "credit_pack", "pack": pack.lookup_key, "credits": str(pack.credits)}
    session = gateway.create_checkout_session(
        {
            **common,
            "mode": "payment",
            "line_items": [{"price": price.id, "quantity": 1}],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "setup_future_usage": "off_session"},
        }
    )
    return str(session.url)


def _subscription_session(ws_id: str, plan: tuple[str, str], common: dict[str, Any]) -> str:
    price = gateway.price_by_lookup_key(plan_lookup_key(*plan))
    metadata = {"workspace_id": ws_id, "kind": "subscription", "plan": plan[0], "interval": plan[1]}
    session = gateway.create_checkout_session(
        {
            **common,
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
    )
    _replace_open_session(ws_id, str(session.id))
    return str(session.url)


def _replace_open_session(ws_id: str, session_id: str) -> None:
    """One open subscription checkout per workspace: the new one replaces (expires) the previous."""
    marker = f"subscription_checkout:{ws_id}"
    try:
        previous = MarkerModel.get(marker, consistent_read=True).data.get("session_id")
    except MarkerModel.DoesNotExist:
        previous = None
    MarkerModel(marker, data={"session_id": session_id}, created_at=clock.now()).save()
    if previous and previous != session_id:
        gateway.expire_checkout_session(str(previous))
