"""Billing test helpers: signing and posting Stripe events, buying a pack through the fake."""

from __future__ import annotations

import json
from typing import Any

import stripe

from chalicelib.accounting.ledger import get_wallet, reconcile_wallet
from chalicelib.billing.catalog import PLAN_PRICES_CENTS
from chalicelib.local.fake_stripe import FakeStripe, new_id, stripe_object
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




def plan_price(plan: str, interval: str = "month", **overrides: Any) -> dict[str, Any]:
    """A Stripe price of our catalog, as Stripe sends it inside a subscription."""
    return stripe_object("price", id=new_id("price"), lookup_key=f"{plan}_{interval}", currency="usd",
                         unit_amount=PLAN_PRICES_CENTS[(plan, interval)], type="recurring",
                         recurring={"interval": interval, "interval_count": 1}, **overrides)


def plan_items(plan: str, interval: str = "month", **overrides: Any) -> dict[str, Any]:
    """A subscription's `items` list holding one plan price."""
    return {"object": "list", "has_more": False, "data": [{
        "object": "subscription_item", "id": new_id("si"), "quantity": 1, "current_period_end": 2_000_000_000,
        "price": plan_price(plan, interval, **overrides)}]}
