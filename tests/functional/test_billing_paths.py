"""Billing paths a paying customer can hit: one subscription per workspace, invoiced workspaces and
auto top-up, refunds and disputes of the same payment, upgrades granted with the plan change."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock
from chalicelib.accounting.ledger import adjust, get_wallet, to_rules
from chalicelib.billing.topup import run_topup
from chalicelib.billing.webhook import receive
from chalicelib.local.fake_stripe import FakeStripe, event_for, new_id, stripe_object
from chalicelib.store.models import LedgerEntryModel, MarkerModel, SubscriptionModel, TopupModel, UserModel, WorkspaceModel
from tests.functional.accounting_helpers import UNLIMITED
from tests.functional.billing_helpers import buy_pack, conserved, plan_items, plan_price, post, sign, subscribe, topup_ready
from tests.functional.helpers import call, get_items_of


def _deliver_all(api: Any, events: list[dict[str, Any]]) -> list[str]:
    return [post(api, e)[1]["outcome"] for e in events]


def _subscribed(api: Any, fake: FakeStripe, tenant: Any, plan: str) -> list[dict[str, Any]]:
    events = subscribe(api, fake, tenant, plan)
    assert _deliver_all(api, events) == ["applied", "applied", "duplicate"]
    return events


def _sub_event(kind: str, sub: dict[str, Any], created: int, **changes: Any) -> dict[str, Any]:
    return event_for(f"customer.subscription.{kind}", {**copy.deepcopy(sub), **changes}, created=created)


def _plan_state(ws: str) -> tuple[Any, ...]:
    w, workspace = get_wallet(ws), WorkspaceModel.get(ws)
    return (workspace.plan, (workspace.billing or {}).get("subscription_id"), int(w.allowance_granted), int(w.available), w.plan)


def _grants(ws: str, prefix: str = "upgrade:") -> list[int]:
    return [int(e.amount) for e in LedgerEntryModel.query(ws) if (e.source or "").startswith(prefix)]


# --- one subscription per workspace ---------------------------------------------------------------


def test_a_second_subscription_checkout_is_409_and_changes_nothing(api, fake, make_tenant):
    t = make_tenant(plan="free")
    created, _, _ = _subscribed(api, fake, t, "pro")
    sessions, billing = len(fake.sessions), WorkspaceModel.get(t.workspace_id).billing
    for plan in ("starter", "pro", "enterprise"):
        status, err, _ = call(api, "POST", "/v1/billing/checkout", t, {"kind": "subscription", "plan": plan})
        assert status == 409 and err["error"]["code"] == "conflict", err
        assert created["data"]["object"]["id"] in err["error"]["message"] and "active pro" in err["error"]["message"]
    assert len(fake.sessions) == sessions and WorkspaceModel.get(t.workspace_id).billing == billing
    # Packs are still for sale, and once the subscription has ended a new one may start.
    assert call(api, "POST", "/v1/billing/checkout", t, {"kind": "credit_pack", "pack": "pack_1000"})[0] == 200
    sub = created["data"]["object"]
    assert post(api, _sub_event("deleted", sub, sub["created"] + 10, status="canceled"))[1]["outcome"] == "applied"
    assert call(api, "POST", "/v1/billing/checkout", t, {"kind": "subscription", "plan": "starter"})[0] == 200


def test_a_new_subscription_checkout_expires_the_previous_open_one(api, fake, make_tenant):
    t = make_tenant(plan="free")
    urls = [
        call(api, "POST", "/v1/billing/checkout", t, {"kind": "subscription", "plan": plan})[1]["url"]
        for plan in ("pro", "starter")
    ]
    first, second = (url.rsplit("/", 1)[1] for url in urls)
    assert fake.sessions[first]["status"] == "expired" and fake.sessions[second]["status"] == "open"
    assert fake.complete_checkout(first) == []  # the other tab can no longer be paid
    _deliver_all(api, fake.complete_checkout(second))
    assert WorkspaceModel.get(t.workspace_id).plan == "starter"


def _second_subscription(events: list[dict[str, Any]], plan: str) -> dict[str, dict[str, Any]]:
    """The events of another (racing) subscription of the same workspace and customer."""
    created, checkout, invoice = (copy.deepcopy(e["data"]["object"]) for e in events)
    sub_id, invoice_id = new_id("sub"), new_id("in")
    created.update(id=sub_id, items=plan_items(plan), metadata={**created["metadata"], "plan": plan})
    checkout.update(
        id=new_id("cs_test"),
        subscription=sub_id,
        invoice=invoice_id,
        amount_total=plan_price(plan)["unit_amount"],
        metadata={**checkout["metadata"], "plan": plan},
    )
    invoice.update(
        id=invoice_id,
        subscription=sub_id,
        lines={
            "object": "list",
            "data": [
                {"object": "line_item", "id": new_id("il"), "amount": plan_price(plan)["unit_amount"], "price": plan_price(plan)}
            ],
        },
    )
    invoice["parent"]["subscription_details"]["subscription"] = sub_id
    return {"created": created, "checkout": checkout, "invoice": invoice}


def test_events_of_a_subscription_that_is_not_the_current_one_never_change_the_plan(api, fake, make_tenant, admin):
    t = make_tenant(plan="free")
    events = _subscribed(api, fake, t, "pro")
    current = events[0]["data"]["object"]["id"]
    before = _plan_state(t.workspace_id)
    assert before[:3] == ("pro", current, 10_000)
    other = _second_subscription(events, "starter")
    at = other["created"]["created"]
    outcomes = [
        post(api, e)[1]["outcome"]
        for e in (
            _sub_event("created", other["created"], at + 1),
            event_for("checkout.session.completed", other["checkout"], created=at + 2),
            event_for("invoice.paid", other["invoice"], created=at + 3),
            _sub_event("updated", other["created"], at + 4, items=plan_items("enterprise")),
            _sub_event("updated", other["created"], at + 5, cancel_at_period_end=True),
            _sub_event("deleted", other["created"], at + 6, status="canceled"),
        )
    ]
    assert outcomes == ["ignored", "rejected", "applied", "ignored", "ignored", "ignored"]
    assert _plan_state(t.workspace_id) == before
    assert _grants(t.workspace_id) == [9_950]  # free -> pro, once; nothing for the other subscription
    assert SubscriptionModel.get(other["created"]["id"]).deleted is True  # its own row follows it
    rejected = call(api, "GET", "/admin/api/billing/rejected-events?limit=5", admin)[1]["data"]
    assert any(current in r["reason"] and other["created"]["id"] in r["reason"] for r in rejected)


def test_a_late_event_of_the_old_subscription_never_takes_over(api, fake, make_tenant):
    t = make_tenant(plan="free")
    old = _subscribed(api, fake, t, "pro")[0]["data"]["object"]
    assert post(api, _sub_event("deleted", old, old["created"] + 10, status="canceled"))[1]["outcome"] == "applied"
    new = _subscribed(api, fake, t, "starter")[0]["data"]["object"]
    assert _plan_state(t.workspace_id)[:2] == ("starter", new["id"])
    for late in (
        _sub_event("updated", old, old["created"] + 5),  # older than its deletion
        _sub_event("updated", old, old["created"] + 50),  # newer, but deleted is final
        _sub_event("deleted", old, old["created"] + 60, status="canceled"),
    ):
        assert post(api, late)[1]["outcome"] == "ignored"
    assert _plan_state(t.workspace_id)[:2] == ("starter", new["id"])


# --- invoiced workspaces and auto top-up ----------------------------------------------------------


def test_an_invoiced_workspace_is_never_charged_by_auto_topup(api, fake, make_tenant, admin):
    t = make_tenant(plan="free", limits=UNLIMITED)
    _deliver_all(api, buy_pack(api, fake, t))  # a Stripe customer and card from before the switch
    body = {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 1000}
    assert call(api, "PUT", "/v1/billing/auto-topup", t, body)[0] == 200
    assert (
        call(
            api,
            "PUT",
            f"/admin/api/workspaces/{t.workspace_id}/billing",
            admin,
            {"provider": "internal", "reason": "invoiced from now on"},
        )[0]
        == 200
    )
    adjust(t.workspace_id, -int(get_wallet(t.workspace_id).available), reason="drain", actor="test", now=clock.now())
    assert run_topup(t.workspace_id) == "internal_billing"
    assert not [r for r in fake.requests if r[1] == "/v1/payment_intents"]
    status, err, _ = call(api, "PUT", "/v1/billing/auto-topup", t, body)
    assert status == 409 and err["error"]["code"] == "conflict" and "invoice" in err["error"]["message"]
    status, answer, _ = call(api, "PUT", "/v1/billing/auto-topup", t, {**body, "enabled": False})
    assert status == 200 and answer["auto_topup"]["enabled"] is False  # turning it off is always fine


def test_members_cannot_configure_auto_topup(api, fake, make_tenant):
    t = make_tenant(plan="free")
    UserModel(t.user_id).update(actions=[UserModel.role.set("member")])
    status, err, _ = call(
        api, "PUT", "/v1/billing/auto-topup", t, {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 1000}
    )
    assert status == 403 and err["error"]["code"] == "forbidden"
    assert not list(TopupModel.query(t.workspace_id))
    assert call(api, "POST", "/v1/billing/checkout", t, {"kind": "credit_pack", "pack": "pack_1000"})[0] == 403


TOPUP = {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 5000}


def _topup_requested(api: Any, fake: FakeStripe, make_tenant: Any) -> tuple[Any, dict[str, Any]]:
    """A workspace with a card, auto top-up of 500 at 100, left with 60 and its top-up requested:
    the tenant and the `payment_intent.succeeded` Stripe sent (not delivered yet)."""
    t = make_tenant(plan="free", limits=UNLIMITED)
    topup_ready(api, fake, t, available=60, monthly_cap=TOPUP["monthly_cap"])
    seen = len(fake.delivered)
    assert run_topup(t.workspace_id) == "requested"
    (succeeded,) = fake.delivered[seen:]
    return t, succeeded


def test_a_topup_grants_what_was_requested_even_if_the_settings_changed_meanwhile(api, fake, make_tenant):
    t, succeeded = _topup_requested(api, fake, make_tenant)
    key = succeeded["data"]["object"]["metadata"]["topup_key"]
    assert MarkerModel.get(f"topup_request:{key}").data["credits"] == 500
    assert call(api, "PUT", "/v1/billing/auto-topup", t, {**TOPUP, "amount": 700})[0] == 200  # while in flight
    forged = copy.deepcopy(succeeded)
    forged["id"] = new_id("evt")
    forged["data"]["object"]["metadata"]["credits"] = "700"
    assert post(api, forged)[1]["outcome"] == "rejected"  # 700 credits were never requested nor paid for
    assert post(api, succeeded)[1]["outcome"] == "applied"
    assert get_wallet(t.workspace_id).available == 60 + 500
    conserved(t.workspace_id)


# --- refunds and disputes of one payment --------------------------------------------------------


def _bought_5000(api: Any, fake: FakeStripe, tenant: Any) -> dict[str, Any]:
    _deliver_all(api, buy_pack(api, fake, tenant, "pack_5000"))
    intent = next(iter(i for i in fake.intents.values() if i["metadata"].get("workspace_id") == tenant.workspace_id))
    assert get_wallet(tenant.workspace_id).purchased == 5_000 and intent["amount"] == 4_500
    return intent


def _refund(fake: FakeStripe, intent: dict[str, Any], cents: int) -> dict[str, Any]:
    return event_for("charge.refunded", fake.charge_for(intent, refunded=cents))


def _dispute(intent: dict[str, Any], cents: int, dispute_id: str | None = None) -> dict[str, Any]:
    return event_for(
        "charge.dispute.created",
        stripe_object(
            "dispute",
            id=dispute_id or new_id("dp"),
            amount=cents,
            currency="usd",
            charge=intent["latest_charge"],
            payment_intent=intent["id"],
            status="needs_response",
        ),
    )


def _purchased_left(ws: str) -> int:
    return to_rules(get_wallet(ws)).purchased_remaining


def _clawed(ws: str) -> int:
    return -sum(int(e.amount) for e in LedgerEntryModel.query(ws) if e.type == "clawback")


def test_refund_then_dispute_of_the_rest_claws_back_everything_once(api, fake, make_tenant):
    t = make_tenant(plan="free")
    intent = _bought_5000(api, fake, t)
    refund, dispute = _refund(fake, intent, 900), _dispute(intent, 3_600)
    assert post(api, refund)[1]["outcome"] == "applied"
    assert _clawed(t.workspace_id) == 1_000
    record = MarkerModel.get(f"returned:{intent['id']}", consistent_read=True)  # whose payment, for operators
    assert int(record.value) == 1 and record.data["workspace_id"] == t.workspace_id and record.data["refunded"] == 900
    assert post(api, dispute)[1]["outcome"] == "applied"
    assert _clawed(t.workspace_id) == 5_000 and _purchased_left(t.workspace_id) == 0
    for _ in range(5):
        assert post(api, refund)[1]["outcome"] == "duplicate" and post(api, dispute)[1]["outcome"] == "duplicate"
    assert _clawed(t.workspace_id) == 5_000 and get_wallet(t.workspace_id).available == 50
    conserved(t.workspace_id)


def test_a_refunded_auto_topup_is_taken_back_like_a_pack(api, fake, make_tenant):
    t, succeeded = _topup_requested(api, fake, make_tenant)
    assert post(api, succeeded)[1]["outcome"] == "applied"
    intent = fake.intents[succeeded["data"]["object"]["id"]]
    grant = next(e for e in LedgerEntryModel.query(t.workspace_id) if e.type == "purchase" and e.amount == 500)
    assert grant.source == intent["id"]  # the payment it came from: what a refund of it finds
    with get_items_of(MarkerModel) as reads:
        assert post(api, _refund(fake, intent, intent["amount"]))[1]["outcome"] == "applied"
    assert _clawed(t.workspace_id) == 500 and get_wallet(t.workspace_id).available == 60
    grant_reads = [r.get("ConsistentRead") for r in reads if r["Key"]["marker"]["S"] == f"grant:{intent['id']}"]
    assert grant_reads == [True]  # the grant is read as written, not from a replica
    conserved(t.workspace_id)


def test_dispute_then_refund_claws_back_everything_once(api, fake, make_tenant):
    t = make_tenant(plan="free")
    intent = _bought_5000(api, fake, t)
    assert post(api, _dispute(intent, 3_600))[1]["outcome"] == "applied"
    assert _clawed(t.workspace_id) == 4_000
    assert post(api, _refund(fake, intent, 900))[1]["outcome"] == "applied"
    assert _clawed(t.workspace_id) == 5_000
    # Stripe's cumulative refund total seen again in a new event, and a dispute of money already
    # returned: nothing more to take.
    assert post(api, _refund(fake, intent, 900))[1]["outcome"] == "applied"
    assert post(api, _dispute(intent, 4_500))[1]["outcome"] == "applied"
    assert _clawed(t.workspace_id) == 5_000 and _purchased_left(t.workspace_id) == 0
    record = MarkerModel.get(f"returned:{intent['id']}", consistent_read=True)  # moved with nothing to take: still whose
    assert record.data["workspace_id"] == t.workspace_id and int(record.data["clawed"]) == 5_000
    conserved(t.workspace_id)


def test_partial_refunds_in_steps_and_a_late_older_one(api, fake, make_tenant):
    t = make_tenant(plan="free")
    intent = _bought_5000(api, fake, t)
    for cents, clawed in ((900, 1_000), (1_800, 2_000), (2_700, 3_000)):
        assert post(api, _refund(fake, intent, cents))[1]["outcome"] == "applied"
        assert _clawed(t.workspace_id) == clawed
    post(api, _refund(fake, intent, 1_800))  # an older state delivered late
    assert _clawed(t.workspace_id) == 3_000
    post(api, _refund(fake, intent, 4_500))
    assert _clawed(t.workspace_id) == 5_000 and _purchased_left(t.workspace_id) == 0
    conserved(t.workspace_id)


def test_concurrent_refund_and_dispute_deliveries_add_up_once(api, fake, make_tenant):
    t = make_tenant(plan="free")
    intent = _bought_5000(api, fake, t)
    payloads = [json.dumps(e) for e in (_refund(fake, intent, 900), _dispute(intent, 3_600))] * 6

    def deliver(payload: str) -> str:
        return receive(payload.encode(), sign(payload)).outcome

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(deliver, payloads))
    assert outcomes.count("applied") == 2, outcomes
    assert _clawed(t.workspace_id) == 5_000 and _purchased_left(t.workspace_id) == 0
    conserved(t.workspace_id)


# --- an upgrade is granted with the plan change, once ----------------------------------------------


def test_an_upgrade_by_subscription_update_is_granted_without_waiting_for_an_invoice(api, fake, make_tenant):
    t = make_tenant(plan="free")
    sub = _subscribed(api, fake, t, "starter")[0]["data"]["object"]
    assert _grants(t.workspace_id) == [950]
    upgrade = _sub_event("updated", sub, sub["created"] + 10, items=plan_items("pro"))
    assert post(api, upgrade)[1]["outcome"] == "applied"  # proration billed on the next cycle: granted now
    assert _plan_state(t.workspace_id)[0] == "pro" and get_wallet(t.workspace_id).allowance_granted == 10_000
    newest = call(api, "GET", "/v1/ledger?limit=1", t)[1]["data"][0]  # newest first, by the entry's id
    assert (newest["type"], newest["amount"], newest["id"][:4]) == ("grant", 9_000, "led_")
    upgrade_entry = next(e for e in LedgerEntryModel.query(t.workspace_id) if e.entry_id == newest["id"])
    assert (upgrade_entry.period, upgrade_entry.reason) == (get_wallet(t.workspace_id).period, "upgrade to pro")
    for _ in range(5):
        assert post(api, upgrade)[1]["outcome"] == "duplicate"
    proration = event_for(
        "invoice.paid",
        stripe_object(
            "invoice",
            id=new_id("in"),
            customer=sub["customer"],
            subscription=sub["id"],
            status="paid",
            currency="usd",
            billing_reason="subscription_update",
            amount_paid=8_000,
            metadata={},
            parent=None,
            lines={
                "object": "list",
                "data": [
                    {"object": "line_item", "id": new_id("il"), "amount": -1_900, "price": plan_price("starter")},
                    {"object": "line_item", "id": new_id("il"), "amount": 9_900, "price": plan_price("pro")},
                ],
            },
        ),
    )
    cycle = event_for("invoice.paid", {**proration["data"]["object"], "id": new_id("in"), "billing_reason": "subscription_cycle"})
    assert post(api, proration)[1]["outcome"] == "applied" and post(api, cycle)[1]["outcome"] == "applied"
    assert _grants(t.workspace_id) == [950, 9_000]
    conserved(t.workspace_id)


def test_downgrade_then_upgrade_again_in_a_month_grants_nothing_more(api, fake, make_tenant, frozen_clock):
    frozen_clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    t = make_tenant(plan="free")
    sub = _subscribed(api, fake, t, "starter")[0]["data"]["object"]
    at = sub["created"]
    for n, plan in enumerate(("pro", "starter", "pro", "enterprise", "pro"), start=1):
        post(api, _sub_event("updated", sub, at + n, items=plan_items(plan)))
        assert WorkspaceModel.get(t.workspace_id).plan == plan
    assert _grants(t.workspace_id) == [950, 9_000, 90_000]  # up to pro once, up to enterprise once
    frozen_clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["plan"] == "pro" and balance["allowance"]["granted"] == 10_000  # next month: the plan's own
    conserved(t.workspace_id)


def test_upgrades_delivered_out_of_order_and_concurrently_grant_once(api, fake, make_tenant):
    t = make_tenant(plan="free")
    sub = _subscribed(api, fake, t, "starter")[0]["data"]["object"]
    to_pro = _sub_event("updated", sub, sub["created"] + 20, items=plan_items("pro"))
    to_enterprise = _sub_event("updated", sub, sub["created"] + 30, items=plan_items("enterprise"))
    payloads = [json.dumps(to_enterprise)] * 8

    def deliver(payload: str) -> str:
        return receive(payload.encode(), sign(payload)).outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(deliver, payloads))
    assert outcomes.count("applied") == 1, outcomes
    assert post(api, to_pro)[1]["outcome"] == "ignored"  # older than the enterprise state
    assert WorkspaceModel.get(t.workspace_id).plan == "enterprise"
    assert _grants(t.workspace_id) == [950, 99_000]
    conserved(t.workspace_id)


def test_the_first_invoice_and_checkout_and_update_never_grant_the_same_upgrade_twice(api, fake, make_tenant):
    """A new pro subscription whose `updated` (incomplete -> active) races its checkout and invoice."""
    t = make_tenant(plan="free")
    status, body, _ = call(api, "POST", "/v1/billing/checkout", t, {"kind": "subscription", "plan": "pro"})
    created, checkout, invoice = fake.complete_checkout(body["url"].rsplit("/", 1)[1])
    sub = created["data"]["object"]
    activated = _sub_event("updated", sub, sub["created"] + 1)
    incomplete = _sub_event("created", sub, sub["created"], status="incomplete")
    outcomes = _deliver_all(api, [incomplete, activated, invoice, checkout, created])
    assert outcomes[2] == "applied" and outcomes[3] == "duplicate", outcomes
    assert _grants(t.workspace_id) == [9_950]
    assert _plan_state(t.workspace_id)[:3] == ("pro", sub["id"], 10_000)
    conserved(t.workspace_id)


def test_the_stripe_event_script_sends_events_the_webhook_accepts(api, fake, make_tenant):
    """`make stripe-event` builds real-shaped events: each is applied; made-up credits are rejected."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "stripe_event.py"
    spec = importlib.util.spec_from_file_location("stripe_event_script", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for kind, plan in (
        ("checkout.session.completed", None),
        ("payment_intent.succeeded", None),
        ("checkout.session.completed", "pro"),
        ("invoice.paid", "starter"),
        ("customer.subscription.created", "pro"),
    ):
        t = make_tenant(plan="free")
        status, body = post(api, script.build(kind, t.workspace_id, "pack_5000", plan, "month", None))
        assert status == 200 and body["outcome"] == "applied", (kind, plan, body)
    t = make_tenant(plan="free")
    forged = script.build("payment_intent.succeeded", t.workspace_id, "pack_1000", None, "month", 999_999)
    assert post(api, forged)[1]["outcome"] == "rejected" and get_wallet(t.workspace_id).purchased == 0
