"""Buy a credit pack through the local stack: checkout → signed webhooks → balance up exactly
once → a job spends it. The fake Stripe API delivers its events signed, over HTTP, as Stripe does."""

from __future__ import annotations

import json

import pytest
import requests

from chalicelib.local.fake_stripe import event_for, new_id, stripe_object
from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_buy_a_pack_and_spend_it(stack: Stack):
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Buyer", "owner_email": "buyer@example.test", "plan": "free"},
        timeout=10,
    )
    auth = {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}
    before = requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json()
    assert before["available"] == 50 and before["purchased"] == 0
    checkout = requests.post(
        f"{stack.base}/v1/billing/checkout", headers=auth, json={"kind": "credit_pack", "pack": "pack_1000"}, timeout=10
    )
    assert checkout.status_code == 200, checkout.text
    url = checkout.json()["url"]
    base, session_id = url.rsplit("/checkout/", 1)
    paid = requests.post(f"{base}/_fake/checkout/{session_id}/complete", timeout=30)  # the customer pays
    assert paid.status_code == 200 and len(paid.json()["events"]) == 2
    balance = wait_for(
        lambda: (b := requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json())["purchased"] == 1000 and b
    )
    assert balance["available"] == 1050
    again = requests.post(f"{base}/_fake/checkout/{session_id}/complete", timeout=30)  # nothing more happens
    assert again.json()["events"] == []
    ledger = requests.get(f"{stack.base}/v1/ledger", headers=auth, timeout=10).json()["data"]
    assert [e["type"] for e in ledger].count("purchase") == 1
    # Spend purchased credits: the free allowance (50) goes first, then the pack.
    job = requests.post(
        f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "paid for", "n": 4, "size": "2048x2048"}, timeout=10
    ).json()["job"]
    assert job["usage"]["credits_reserved"] == 16
    done = wait_for(
        lambda: (
            (j := requests.get(f"{stack.base}/v1/jobs/{job['id']}", headers=auth, timeout=10).json()["job"])["status"]
            == "succeeded"
            and j
        ),
        timeout=30,
    )
    assert done["usage"]["credits_charged"] == 16
    after = requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json()
    assert after["available"] == 1050 - 16 and after["allowance"]["used"] == 16 and after["purchased"] == 1000


def test_webhook_with_a_bad_signature_is_refused(stack: Stack):
    r = requests.post(
        f"{stack.base}/webhooks/stripe",
        data='{"id": "evt_1", "type": "invoice.paid"}',
        headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=bad"},
        timeout=10,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


def test_a_signed_event_with_made_up_credits_is_rejected_listed_and_changes_nothing(stack: Stack):
    """Over HTTP, as Stripe delivers: the fake signs an event whose metadata claims 10^20 credits
    for a 1,000-credit payment; the webhook acknowledges it, lists it for admins, grants nothing."""
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Forger", "owner_email": "forger@example.test", "plan": "free"},
        timeout=10,
    )
    ws = r.json()["workspace"]["id"]
    auth = {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}
    url = requests.post(
        f"{stack.base}/v1/billing/checkout", headers=auth, json={"kind": "credit_pack", "pack": "pack_1000"}, timeout=10
    ).json()["url"]
    fake = url.rsplit("/checkout/", 1)[0]
    event = event_for(
        "payment_intent.succeeded",
        stripe_object(
            "payment_intent",
            id=new_id("pi"),
            amount=1000,
            amount_received=1000,
            currency="usd",
            status="succeeded",
            customer=None,
            metadata={"workspace_id": ws, "kind": "credit_pack", "pack": "pack_1000", "credits": str(10**20)},
        ),
    )
    assert requests.post(f"{fake}/_fake/events", data={"event": json.dumps(event)}, timeout=30).status_code == 200
    listed = wait_for(
        lambda: [
            row
            for row in requests.get(f"{stack.base}/admin/api/billing/rejected-events", headers=stack.admin(), timeout=10).json()[
                "data"
            ]
            if row["event_id"] == event["id"]
        ]
    )
    assert "metadata.credits" in listed[0]["reason"] and listed[0]["workspace_id"] == ws
    balance = requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json()
    assert balance["available"] == 50 and balance["purchased"] == 0


def test_an_oversize_webhook_body_is_413_in_the_envelope(stack: Stack):
    r = requests.post(
        f"{stack.base}/webhooks/stripe",
        data=b"{" + b" " * (1024 * 1024 + 16) + b"}",
        headers={"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=bad"},
        timeout=30,
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["request_id"]
