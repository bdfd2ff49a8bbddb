"""Stripe money lands in the wallet exactly once, whatever order, repetition or concurrency.

Events are built from Stripe's real object shapes (the fake derives them from the published
fixtures), signed with `stripe.WebhookSignature.generate_signature_header`, and posted raw to
/webhooks/stripe. After every scenario the wallet's ledger must reconcile.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.accounting.ledger import adjust, get_wallet
from chalicelib.accounting.plans import PAST_DUE_GRACE_S, effective_plan
from chalicelib.billing.config import public_base_url
from chalicelib.billing.webhook import receive
from chalicelib.local.fake_stripe import FakeStripe, event_for, new_id, stripe_object
from chalicelib.store.models import LedgerEntryModel, WorkspaceModel
from tests.functional.accounting_helpers import UNLIMITED
from tests.functional.billing_helpers import buy_pack, conserved, plan_items, post, sign
from tests.functional.helpers import call, purge


def test_credit_pack_checkout_grants_once_across_replays_and_both_paths(api, fake, make_tenant):
    t = make_tenant(plan="free")
    events = buy_pack(api, fake, t)
    assert [e["type"] for e in events] == ["checkout.session.completed", "payment_intent.succeeded"]
    session = fake.sessions[events[0]["data"]["object"]["id"]]
    assert session["client_reference_id"] == t.workspace_id
    assert session["metadata"] == {"workspace_id": t.workspace_id, "kind": "credit_pack", "pack": "pack_1000", "credits": "1000"}
    base = public_base_url()  # the customer comes back to our pages, never to "None/billing/..."
    assert (session["success_url"], session["cancel_url"]) == (
        f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        f"{base}/billing/cancel",
    )
    outcomes = [post(api, e)[1]["outcome"] for e in events]
    assert outcomes == ["applied", "duplicate"]  # the PaymentIntent path finds the grant done
    for _ in range(5):
        for e in events:
            status, body = post(api, e)
            assert status == 200 and body["outcome"] == "duplicate"
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["purchased"] == 1000 and balance["available"] == 1050
    conserved(t.workspace_id)


def test_payment_intent_path_first_then_checkout(api, fake, make_tenant):
    t = make_tenant(plan="free")
    checkout, intent = buy_pack(api, fake, t)
    assert post(api, intent)[1]["outcome"] == "applied"
    assert post(api, checkout)[1]["outcome"] == "duplicate"
    assert get_wallet(t.workspace_id).purchased == 1000
    conserved(t.workspace_id)


def test_concurrent_duplicate_deliveries_grant_once(api, fake, make_tenant):
    t = make_tenant(plan="free")
    checkout, intent = buy_pack(api, fake, t, "pack_5000")
    payloads = [json.dumps(e) for e in (checkout, intent)] * 8

    def deliver(payload: str) -> str:
        return receive(payload.encode(), sign(payload)).outcome

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(deliver, payloads))
    assert outcomes.count("applied") == 1
    assert get_wallet(t.workspace_id).purchased == 5000
    conserved(t.workspace_id)


@pytest.mark.parametrize("case", ["missing", "wrong_secret", "stale", "altered", "garbage_header", "not_json"])
def test_bad_signatures_are_400_and_change_nothing(api, fake, make_tenant, case):
    t = make_tenant(plan="free")
    checkout, _ = buy_pack(api, fake, t)
    payload = json.dumps(checkout)
    kwargs: dict[str, Any] = {}
    if case == "missing":
        kwargs["header"] = None
    elif case == "wrong_secret":
        kwargs["header"] = sign(payload, "whsec_someone_else")
    elif case == "stale":
        kwargs["header"] = sign(payload, timestamp=int(time.time()) - 3600)
    elif case == "altered":
        kwargs["header"] = sign(payload)
        kwargs["body"] = payload.replace('"credits": "1000"', '"credits": "9999999"')
    elif case == "garbage_header":
        kwargs["header"] = "t=abc,v1=zzz"
    elif case == "not_json":
        kwargs["body"] = "not json at all"
        kwargs["header"] = sign("not json at all")
    status, body = post(api, checkout, **kwargs)
    assert status == 400 and body["error"]["code"] == "invalid_request"
    assert get_wallet(t.workspace_id).purchased == 0


def test_unknown_event_types_are_acknowledged_and_ignored(api, fake):
    event = event_for("customer.tax_id.created", stripe_object("customer", id=new_id("cus")))
    status, body = post(api, event)
    assert status == 200 and body["outcome"] == "ignored"


def _subscribe(api: Any, fake: FakeStripe, tenant: Any, plan: str, interval: str) -> list[dict[str, Any]]:
    status, body, _ = call(
        api, "POST", "/v1/billing/checkout", tenant, {"kind": "subscription", "plan": plan, "interval": interval}
    )
    assert status == 200, body
    return fake.complete_checkout(body["url"].rsplit("/", 1)[1])


def test_yearly_subscription_refills_monthly(api, fake, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    t = make_tenant(plan="free")
    events = _subscribe(api, fake, t, "pro", "year")
    assert [e["type"] for e in events] == ["customer.subscription.created", "checkout.session.completed", "invoice.paid"]
    session = fake.sessions[events[1]["data"]["object"]["id"]]
    metadata = {"workspace_id": t.workspace_id, "kind": "subscription", "plan": "pro", "interval": "year"}
    assert session["metadata"] == metadata
    assert events[0]["data"]["object"]["metadata"] == metadata  # the subscription's own events name the workspace
    outcomes = [post(api, e)[1]["outcome"] for e in events]
    assert outcomes == ["applied", "applied", "duplicate"]  # invoice.paid finds the upgrade granted
    for e in events:  # replays
        assert post(api, e)[1]["outcome"] == "duplicate"
    ws = WorkspaceModel.get(t.workspace_id)
    assert ws.plan == "pro" and ws.billing_interval == "year"
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["plan"] == "pro" and balance["billing_interval"] == "year"
    assert balance["allowance"]["granted"] == 10_000  # the upgrade applies now, granted once
    # A yearly plan still refills every month.
    frozen_clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["period"] == "2026-12" and balance["allowance"] == {"granted": 10_000, "used": 0, "remaining": 10_000}
    frozen_clock.set(datetime(2027, 1, 2, tzinfo=UTC))
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["allowance"]["granted"] == 10_000
    conserved(t.workspace_id)


def test_invoice_paid_and_checkout_never_both_grant_the_upgrade(api, fake, make_tenant):
    t = make_tenant(plan="free")
    created, checkout, invoice = _subscribe(api, fake, t, "starter", "month")
    post(api, created)
    assert post(api, invoice)[1]["outcome"] == "applied"
    assert post(api, checkout)[1]["outcome"] == "duplicate"
    grants = [e for e in call(api, "GET", "/v1/ledger?limit=100", t)[1]["data"] if e["type"] == "grant"]
    assert sorted(e["amount"] for e in grants) == [50, 950]  # free allowance, then the upgrade difference
    conserved(t.workspace_id)


def _sub_event(
    kind: str,
    sub_id: str,
    ws: str,
    created: int,
    *,
    status: str = "active",
    plan: str = "pro",
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    sub = stripe_object(
        "subscription",
        id=sub_id,
        status=status,
        customer=new_id("cus"),
        metadata={"workspace_id": ws, "plan": plan, "interval": "month"},
        cancel_at_period_end=cancel_at_period_end,
        items=plan_items(plan, "month"),
    )
    return event_for(f"customer.subscription.{kind}", sub, created=created)


def test_out_of_order_updated_before_created(api, fake, make_tenant):
    t = make_tenant(plan="free")
    sub_id = new_id("sub")
    created = _sub_event("created", sub_id, t.workspace_id, 1_000, plan="pro")
    updated = _sub_event("updated", sub_id, t.workspace_id, 1_005, plan="starter", cancel_at_period_end=True)
    assert post(api, updated)[1]["outcome"] == "applied"
    assert post(api, created)[1]["outcome"] == "ignored"  # older than what we have
    ws = WorkspaceModel.get(t.workspace_id)
    assert ws.plan == "starter" and ws.billing["cancel_at_period_end"] is True


def test_out_of_order_deleted_before_updated(api, fake, make_tenant):
    t = make_tenant(plan="free")
    sub_id = new_id("sub")
    post(api, _sub_event("created", sub_id, t.workspace_id, 1_000))
    assert WorkspaceModel.get(t.workspace_id).plan == "pro"
    post(api, _sub_event("deleted", sub_id, t.workspace_id, 1_010, status="canceled"))
    assert post(api, _sub_event("updated", sub_id, t.workspace_id, 1_005))[1]["outcome"] == "ignored"
    assert post(api, _sub_event("updated", sub_id, t.workspace_id, 1_020))[1]["outcome"] == "ignored"  # deleted is final
    ws = WorkspaceModel.get(t.workspace_id)
    assert ws.plan == "free" and ws.billing_interval is None
    assert get_wallet(t.workspace_id).plan == "free"  # next month's allowance follows


def test_upgrade_then_downgrade_keeps_this_month_and_next_month_follows(api, fake, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    t = make_tenant(plan="free")
    created, checkout, invoice = _subscribe(api, fake, t, "pro", "month")
    for event in (created, checkout, invoice):
        post(api, event)
    assert get_wallet(t.workspace_id).allowance_granted == 10_000
    sub = created["data"]["object"]
    downgrade = event_for(
        "customer.subscription.updated", dict(sub, items=plan_items("starter", "month")), created=int(created["created"]) + 60
    )
    assert post(api, downgrade)[1]["outcome"] == "applied"
    assert WorkspaceModel.get(t.workspace_id).plan == "starter"
    assert get_wallet(t.workspace_id).allowance_granted == 10_000  # no clawback of this month's allowance
    frozen_clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["plan"] == "starter" and balance["allowance"]["granted"] == 1_000  # the new plan from now on
    conserved(t.workspace_id)


def test_a_deleted_yearly_subscription_grants_the_free_allowance_next_month(api, fake, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    t = make_tenant(plan="free")
    created, checkout, invoice = _subscribe(api, fake, t, "pro", "year")
    for event in (created, checkout, invoice):
        post(api, event)
    sub = created["data"]["object"]
    deleted = event_for("customer.subscription.deleted", dict(sub, status="canceled"), created=int(created["created"]) + 60)
    assert post(api, deleted)[1]["outcome"] == "applied"
    assert get_wallet(t.workspace_id).plan == "free"
    frozen_clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["plan"] == "free" and balance["allowance"]["granted"] == 50
    conserved(t.workspace_id)


def test_failed_payment_downgrades_limits_after_grace(api, fake, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    t = make_tenant(plan="free")
    created, _, invoice = _subscribe(api, fake, t, "pro", "month")
    post(api, created)
    post(api, invoice)
    failed_invoice = dict(invoice["data"]["object"], id=new_id("in"), status="open", billing_reason="subscription_cycle")
    failed = event_for("invoice.payment_failed", failed_invoice, created=int(clock.now().timestamp()))
    assert post(api, failed)[1]["outcome"] == "applied"
    ws = WorkspaceModel.get(t.workspace_id)
    assert ws.billing["subscription_status"] == "past_due" and ws.plan == "pro"
    purge()
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "x", "provider": "openai"})[0] == 202  # pro: allowed
    frozen_clock.advance(days=4)  # beyond the 3-day grace: free plan's limits
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "x", "provider": "openai"})
    assert status == 403 and err["error"]["code"] == "forbidden"
    paid_again = event_for("invoice.paid", dict(failed_invoice, status="paid"), created=int(clock.now().timestamp()))
    post(api, paid_again)
    assert WorkspaceModel.get(t.workspace_id).billing["past_due_since"] is None
    purge()


def test_refund_larger_than_remaining_credits_leaves_debt(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    checkout, intent = buy_pack(api, fake, t)
    post(api, checkout)
    adjust(t.workspace_id, -1000, reason="spent most of it", actor="test", now=clock.now())  # available 50
    charge = fake.charge_for(fake.intents[intent["data"]["object"]["id"]], refunded=500)
    partial = event_for("charge.refunded", charge)
    assert post(api, partial)[1]["outcome"] == "applied"  # half the pack: 500 credits owed, 50 available
    w = get_wallet(t.workspace_id)
    assert w.available == 0 and w.debt == 450
    for _ in range(3):
        assert post(api, partial)[1]["outcome"] == "duplicate"
    full = event_for("charge.refunded", fake.charge_for(fake.intents[intent["data"]["object"]["id"]], refunded=1000))
    post(api, full)
    assert get_wallet(t.workspace_id).debt == 950  # cumulative: 1000 owed in all
    older = event_for("charge.refunded", fake.charge_for(fake.intents[intent["data"]["object"]["id"]], refunded=300))
    post(api, older)  # an older, smaller refund state arriving late changes nothing
    assert get_wallet(t.workspace_id).debt == 950
    conserved(t.workspace_id)


def test_dispute_claws_back_what_it_bought(api, fake, make_tenant):
    t = make_tenant(plan="free")
    checkout, intent = buy_pack(api, fake, t)
    post(api, checkout)
    pi = intent["data"]["object"]
    dispute = stripe_object(
        "dispute",
        id=new_id("dp"),
        amount=pi["amount"],
        charge=pi["latest_charge"],
        payment_intent=pi["id"],
        status="needs_response",
        reason="fraudulent",
    )
    event = event_for("charge.dispute.created", dispute)
    assert post(api, event)[1]["outcome"] == "applied"
    assert post(api, event)[1]["outcome"] == "duplicate"
    w = get_wallet(t.workspace_id)
    assert w.purchased - max(0, w.period_spent - w.allowance_granted) == 0 and w.available == 50 and w.debt == 0
    conserved(t.workspace_id)


def test_checkout_validation(api, fake, make_tenant):
    t = make_tenant(plan="free")
    for body in (
        {},
        {"kind": "credit_pack"},
        {"kind": "credit_pack", "pack": "pack_7"},
        {"kind": "subscription"},
        {"kind": "subscription", "plan": "gold"},
        {"kind": "subscription", "plan": "pro", "interval": "week"},
        {"kind": "credit_pack", "pack": 5},
        {"kind": "credit_pack", "pack": "pack_1000", "plan": "pro"},
    ):
        status, err, _ = call(api, "POST", "/v1/billing/checkout", t, body)
        assert status == 400 and err["error"]["code"] == "invalid_request", body
    status, err, _ = call(api, "POST", "/v1/billing/checkout", t, {"kind": "credit_pack", "pack": "pack_7"})
    assert (status, err["error"]["field"]) == (400, "pack") and "pack_1000" in err["error"]["message"]


def test_internal_billing_workspace_cannot_self_checkout(api, fake, make_tenant, admin):
    t = make_tenant(plan="enterprise")
    status, _, _ = call(
        api,
        "PUT",
        f"/admin/api/workspaces/{t.workspace_id}/billing",
        admin,
        {"provider": "internal", "reason": "invoiced customer"},
    )
    assert status == 200
    status, err, _ = call(api, "POST", "/v1/billing/checkout", t, {"kind": "credit_pack", "pack": "pack_1000"})
    assert status == 409
    assert (
        call(api, "PUT", f"/admin/api/workspaces/{t.workspace_id}/billing", t, {"provider": "internal", "reason": "x"})[0] == 403
    )
    purge()


def test_period_changes_do_not_break_grants(api, fake, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    t = make_tenant(plan="free")
    checkout, _ = buy_pack(api, fake, t)
    frozen_clock.advance(minutes=2)
    post(api, checkout)
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["period"] == "2026-12" and balance["purchased"] == 1000 and balance["available"] == 1050
    conserved(t.workspace_id)
    entries = list(LedgerEntryModel.query(t.workspace_id))
    assert [int(e.amount) for e in entries if e.type == "purchase"] == [1000]  # granted once
    assert [int(e.amount) for e in entries if e.type == "grant" and e.period == "2026-12"] == [50]  # rolled over once


def _state(ws: str) -> tuple:
    w = get_wallet(ws)
    workspace = WorkspaceModel.get(ws)
    return (
        int(w.available),
        int(w.held),
        int(w.purchased),
        int(w.allowance_granted),
        int(w.debt),
        workspace.plan,
        workspace.billing_interval,
        (workspace.billing or {}).get("subscription_status"),
    )


def test_every_handled_event_type_replayed_5_times_changes_nothing_more(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    pack_events = buy_pack(api, fake, t)
    sub_events = _subscribe(api, fake, t, "starter", "month")
    pi = pack_events[1]["data"]["object"]
    invoice = sub_events[2]["data"]["object"]
    sub = sub_events[0]["data"]["object"]
    extra = [
        event_for("invoice.payment_failed", dict(invoice, id=new_id("in"), billing_reason="subscription_cycle")),
        event_for("customer.subscription.updated", dict(sub, cancel_at_period_end=True), created=sub["created"] + 5),
        event_for("charge.refunded", fake.charge_for(fake.intents[pi["id"]], refunded=100)),
        event_for(
            "charge.dispute.created",
            stripe_object("dispute", id=new_id("dp"), amount=200, charge=pi["latest_charge"], payment_intent=pi["id"]),
        ),
        event_for("customer.subscription.deleted", dict(sub, status="canceled"), created=sub["created"] + 10),
    ]
    handled = set()
    for event in pack_events + sub_events + extra:
        post(api, event)
        state = _state(t.workspace_id)
        for _ in range(5):
            status, body = post(api, event)
            assert status == 200 and body["outcome"] == "duplicate", event["type"]
        assert _state(t.workspace_id) == state, event["type"]
        handled.add(event["type"])
    assert len(handled) == 9
    conserved(t.workspace_id)


def test_out_of_order_deleted_before_created(api, fake, make_tenant):
    t = make_tenant(plan="free")
    sub_id = new_id("sub")
    post(api, _sub_event("deleted", sub_id, t.workspace_id, 2_000, status="canceled"))
    assert post(api, _sub_event("created", sub_id, t.workspace_id, 1_000))[1]["outcome"] == "ignored"
    assert WorkspaceModel.get(t.workspace_id).plan == "free"


def test_the_plan_falls_back_to_free_only_beyond_the_grace():
    """The plan rule behind the past-due downgrade: pure, on the first failure's time."""
    now = datetime(2026, 11, 10, tzinfo=UTC)
    failed_at = int(now.timestamp())
    assert effective_plan("pro", None, now) == "pro"
    assert effective_plan("pro", failed_at, now + timedelta(seconds=PAST_DUE_GRACE_S)) == "pro"
    assert effective_plan("pro", failed_at, now + timedelta(seconds=PAST_DUE_GRACE_S + 1)) == "free"
