"""Helpers for the marketplace's functional tests: a public template listed for sale, a purchase,
a signed Connect event, and the numbers that must stay consistent."""

from __future__ import annotations

import json
from typing import Any

import stripe

from chalicelib.accounting.ledger import get_wallet, reconcile_wallet
from chalicelib.store import earnings as earnings_store
from chalicelib.store.models import LedgerEntryModel
from tests.functional.helpers import call

CONNECT_SECRET = "whsec_connect_test_" + "c" * 24
TEMPLATE = {
    "name": "Neon city poster",
    "prompt": "a neon {city} skyline at night, poster style",
    "variables": {"city": {"type": "string", "max_length": 40, "default": "tokyo"}},
    "tags": ["poster", "neon"],
    "visibility": "public",
}


def template(api: Any, tenant: Any, **changes: Any) -> str:
    status, body, _ = call(api, "POST", "/v1/templates", tenant, {**TEMPLATE, **changes})
    assert status == 201, body
    return str(body["template"]["id"])


def listing(api: Any, seller: Any, price: int = 100, **changes: Any) -> dict[str, Any]:
    """A new public template of the seller's, listed for `price` credits."""
    status, body, _ = call(api, "POST", "/v1/marketplace/listings", seller, {"template_id": template(api, seller, **changes),
                                                                             "price_credits": price})  # fmt: skip
    assert status == 201, body
    return dict(body["listing"])


def buy(api: Any, buyer: Any, listing_id: str, key: str | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Idempotency-Key": key} if key else None
    return call(api, "POST", f"/v1/marketplace/listings/{listing_id}/purchase", buyer, headers=headers)


def available(workspace_id: str) -> int:
    return int(get_wallet(workspace_id).available)


def market_entries(workspace_id: str) -> list[LedgerEntryModel]:
    rows = LedgerEntryModel.query(workspace_id, consistent_read=True)
    return [e for e in rows if str(e.type).startswith("marketplace_")]


def consistent(*workspace_ids: str) -> None:
    """Every wallet agrees with its ledger, and every earnings account with its entries."""
    for ws in workspace_ids:
        drift = reconcile_wallet(ws)
        assert drift.ok, drift
        stored, summed = earnings_store.reconcile(ws)
        assert stored == summed, (ws, stored, summed)


def connect_event(api: Any, obj: dict[str, Any], *, created: int, event_id: str, secret: str = CONNECT_SECRET,
                  signature: str | None = None, kind: str = "account.updated") -> tuple[int, dict[str, Any]]:  # fmt: skip
    """Deliver a Connect event to /webhooks/stripe-connect, signed like Stripe (unless `signature`)."""
    event = {"id": event_id, "object": "event", "type": kind, "created": created, "account": obj.get("id"),
             "data": {"object": obj}, "livemode": False, "api_version": "2025-09-30.clover"}  # fmt: skip
    payload = json.dumps(event)
    header = signature if signature is not None else stripe.WebhookSignature.generate_signature_header(payload, secret)
    status, body, _ = call(api, "POST", "/webhooks/stripe-connect", None, raw=payload, headers={"Stripe-Signature": header})
    return status, body
