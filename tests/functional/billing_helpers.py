"""Billing test helpers: signing and posting Stripe events, buying a pack through the fake."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe

from chalicelib import clock
from chalicelib.accounting.ledger import adjust, get_wallet, reconcile_wallet
from chalicelib.billing.catalog import PLAN_PRICES_CENTS
from chalicelib.local.fake_stripe import FakeStripe, new_id, stripe_object
from chalicelib.store.models import ALL_MODELS, RejectedEventModel
from tests.functional.helpers import call

SECRET = "whsec_test_" + "k" * 24


def sign(payload: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def post(api: Any, event: dict[str, Any], **kw: Any) -> tuple[int, dict[str, Any]]:
    payload = json.dumps(event)
    header = kw.get("header", sign(payload))
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if header is not None:
        headers["Stripe-Signature"] = header
    response = api.http.post("/webhooks/stripe", headers=headers, body=kw.get("body", payload))
    return response.status_code, json.loads(response.body)


def conserved(ws: str) -> None:
    drift = reconcile_wallet(ws)
    assert drift.ok, drift
    assert get_wallet(ws).available >= 0


def buy_pack(api: Any, fake: FakeStripe, tenant: Any, pack: str = "pack_1000") -> list[dict[str, Any]]:
    status, body, _ = call(api, "POST", "/v1/billing/checkout", tenant, {"kind": "credit_pack", "pack": pack})
    assert status == 200, body
    session_id = body["url"].rsplit("/", 1)[1]
    return fake.complete_checkout(session_id)


def topup_ready(api: Any, fake: FakeStripe, tenant: Any, *, available: int, monthly_cap: int = 1000) -> None:
    """A saved card (a pack bought through checkout), auto top-up of 500 credits at 100, and
    `available` credits left: the starting point of every auto top-up test."""
    for event in buy_pack(api, fake, tenant):
        post(api, event)
    settings = {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": monthly_cap}
    status, body, _ = call(api, "PUT", "/v1/billing/auto-topup", tenant, settings)
    assert status == 200, body
    change = available - int(get_wallet(tenant.workspace_id).available)
    adjust(tenant.workspace_id, change, reason="set up", actor="test", now=clock.now())


def plan_price(plan: str, interval: str = "month", **overrides: Any) -> dict[str, Any]:
    """A Stripe price of our catalog, as Stripe sends it inside a subscription."""
    fields = {
        "id": new_id("price"),
        "lookup_key": f"{plan}_{interval}",
        "currency": "usd",
        "type": "recurring",
        "unit_amount": PLAN_PRICES_CENTS[(plan, interval)],
        "recurring": {"interval": interval, "interval_count": 1},
    }
    return stripe_object("price", **{**fields, **overrides})


def plan_items(plan: str, interval: str = "month", **overrides: Any) -> dict[str, Any]:
    """A subscription's `items` list holding one plan price."""
    return {
        "object": "list",
        "has_more": False,
        "data": [
            {
                "object": "subscription_item",
                "id": new_id("si"),
                "quantity": 1,
                "current_period_end": 2_000_000_000,
                "price": plan_price(plan, interval, **overrides),
            }
        ],
    }


def subscribe(api: Any, fake: FakeStripe, tenant: Any, plan: str, interval: str = "month") -> list[dict[str, Any]]:
    """Subscription checkout through the fake: created, checkout.session.completed, invoice.paid."""
    status, body, _ = call(
        api, "POST", "/v1/billing/checkout", tenant, {"kind": "subscription", "plan": plan, "interval": interval}
    )
    assert status == 200, body
    return fake.complete_checkout(body["url"].rsplit("/", 1)[1])


def snapshot(*, rejected: bool = False) -> dict[str, list[str]]:
    """Every row of every table (the rejected-events table only when asked), comparable."""
    models = [m for m in ALL_MODELS if rejected or m is not RejectedEventModel]
    return {
        m.table_suffix: sorted(json.dumps(item.serialize(), sort_keys=True, default=str) for item in m.scan()) for m in models
    }


def rejected_rows(event_id: str) -> list[Any]:
    """The rejection rows of one event (its list row and its replay guard)."""
    return [r for r in RejectedEventModel.scan() if r.event_id == event_id]


@dataclass
class World:
    """A paying workspace (a pack_5000, auto top-up of 500 configured, a live starter subscription)
    and a free one beside it: the real events that made them are the templates of the tests."""

    tenant: Any
    free: Any
    pack_checkout: dict[str, Any]
    pack_intent: dict[str, Any]
    subscription: dict[str, Any]
    sub_checkout: dict[str, Any]
    invoice: dict[str, Any]


def build_world(api: Any, fake: FakeStripe, tenant: Any, free: Any) -> World:
    pack = buy_pack(api, fake, tenant, "pack_5000")
    assert [post(api, e)[1]["outcome"] for e in pack] == ["applied", "duplicate"]
    status, body, _ = call(
        api, "PUT", "/v1/billing/auto-topup", tenant, {"enabled": True, "threshold": 10, "amount": 500, "monthly_cap": 5000}
    )
    assert status == 200, body
    sub = subscribe(api, fake, tenant, "starter")
    assert [post(api, e)[1]["outcome"] for e in sub] == ["applied", "applied", "duplicate"]
    return World(tenant, free, pack[0], pack[1], sub[0]["data"]["object"], sub[1], sub[2]["data"]["object"])
