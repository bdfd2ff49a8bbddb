"""Send a correctly signed Stripe test event to the local stack (`make stripe-event`).

    make stripe-event TYPE=checkout.session.completed WORKSPACE=ws_… PACK=pack_1000
    .venv/bin/python scripts/stripe_event.py --type invoice.paid --workspace ws_… --plan pro

The payload is built from Stripe's real object shapes (the fixtures), signed with
`stripe.WebhookSignature.generate_signature_header` and the local stack's webhook secret
(STRIPE_WEBHOOK_SECRET, or the one `make dev` wrote to .local/stripe-webhook-secret).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS, plan_lookup_key  # noqa: E402
from chalicelib.local.fake_stripe import event_for, new_id, stripe_object  # noqa: E402


def _plan_price(plan: str, interval: str) -> dict:
    return stripe_object(
        "price",
        id=new_id("price"),
        lookup_key=plan_lookup_key(plan, interval),
        currency="usd",
        unit_amount=PLAN_PRICES_CENTS[(plan, interval)],
        type="recurring",
        recurring={"interval": interval, "interval_count": 1},
    )


def _checkout(workspace: str, pack: str | None, plan: str | None, interval: str) -> dict:
    meta = {"workspace_id": workspace}
    if plan:
        return stripe_object(
            "checkout.session",
            id=new_id("cs_test"),
            mode="subscription",
            status="complete",
            payment_status="paid",
            client_reference_id=workspace,
            subscription=new_id("sub"),
            invoice=new_id("in"),
            amount_total=PLAN_PRICES_CENTS[(plan, interval)],
            currency="usd",
            metadata={**meta, "kind": "subscription", "plan": plan, "interval": interval},
            customer=new_id("cus"),
            payment_intent=None,
        )
    p = PACKS[pack or "pack_1000"]
    return stripe_object(
        "checkout.session",
        id=new_id("cs_test"),
        mode="payment",
        status="complete",
        payment_status="paid",
        client_reference_id=workspace,
        payment_intent=new_id("pi"),
        amount_total=p.amount_cents,
        currency="usd",
        customer=new_id("cus"),
        metadata={**meta, "kind": "credit_pack", "pack": p.lookup_key, "credits": str(p.credits)},
    )


def build(kind: str, workspace: str, pack: str | None, plan: str | None, interval: str, credits: int | None) -> dict:
    """A real-shaped event: amounts, currency and prices from the catalog, as Stripe would send
    them (`--credits` other than the pack's makes an event the webhook must reject)."""
    meta = {"workspace_id": workspace}
    if kind == "checkout.session.completed":
        obj = _checkout(workspace, pack, plan, interval)
    elif kind.startswith("payment_intent."):
        p = PACKS[pack or "pack_1000"]
        obj = stripe_object(
            "payment_intent",
            id=new_id("pi"),
            amount=p.amount_cents,
            amount_received=p.amount_cents,
            currency="usd",
            customer=new_id("cus"),
            status="succeeded" if kind.endswith("succeeded") else "requires_payment_method",
            metadata={**meta, "kind": "credit_pack", "pack": p.lookup_key, "credits": str(credits or p.credits)},
        )
    elif kind.startswith("customer.subscription."):
        obj = stripe_object(
            "subscription",
            id=new_id("sub"),
            status="active",
            customer=new_id("cus"),
            metadata={**meta, "plan": plan or "pro", "interval": interval},
            cancel_at_period_end=False,
            items={
                "object": "list",
                "data": [{"object": "subscription_item", "id": new_id("si"), "price": _plan_price(plan or "pro", interval)}],
            },
        )
    elif kind == "invoice.paid":
        sub, price = new_id("sub"), _plan_price(plan or "pro", interval)
        obj = stripe_object(
            "invoice",
            id=new_id("in"),
            customer=new_id("cus"),
            status="paid",
            currency="usd",
            billing_reason="subscription_create",
            amount_paid=price["unit_amount"],
            metadata={},
            subscription=sub,
            parent={"type": "subscription_details", "subscription_details": {"subscription": sub, "metadata": meta}},
            lines={
                "object": "list",
                "data": [{"object": "line_item", "id": new_id("il"), "amount": price["unit_amount"], "price": price}],
            },
        )
    else:
        raise SystemExit(f"unsupported --type {kind}")
    return event_for(kind, obj, created=int(time.time()))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--type", required=True)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--pack")
    parser.add_argument("--plan")
    parser.add_argument("--interval", default="month", choices=["month", "year"])
    parser.add_argument("--credits", type=int)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/webhooks/stripe")
    args = parser.parse_args()
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET")
    secret_file = ROOT / ".local" / "stripe-webhook-secret"
    if not secret and secret_file.is_file():
        secret = secret_file.read_text().strip()
    if not secret:
        raise SystemExit("set STRIPE_WEBHOOK_SECRET (or start the stack with `make dev`, which writes it)")
    import stripe

    event = build(args.type, args.workspace, args.pack, args.plan, args.interval, args.credits)
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    request = urllib.request.Request(
        args.url,
        data=payload.encode(),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        print(response.status, response.read().decode())
    print(f"sent {event['type']} {event['id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
