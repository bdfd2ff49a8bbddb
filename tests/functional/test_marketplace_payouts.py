"""Creator earnings and payouts on moto with the fake Stripe API: the holding period, Stripe
Connect onboarding, `account.updated` webhooks (signature, duplicates, order), payouts as
transfers created once with idempotency keys, refused transfers, and the ledgers' sums."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

from chalicelib.billing import gateway
from chalicelib.local.fake_stripe import FakeStripe
from chalicelib.marketplace import earnings as earnings_service
from chalicelib.marketplace import rules
from chalicelib.store import earnings as earnings_store
from tests.functional.billing_helpers import SECRET
from tests.functional.helpers import call
from tests.functional.marketplace_helpers import CONNECT_SECRET, buy, connect_event, consistent, listing

PRICE = 2_000  # the creator earns 1,600 of it


@pytest.fixture()
def stripe_fake(aws, monkeypatch):
    fake = FakeStripe()
    monkeypatch.setenv("STRIPE_API_BASE", fake.start())
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_fake")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STRIPE_CONNECT_WEBHOOK_SECRET", CONNECT_SECRET)
    gateway.reset()
    yield fake
    fake.stop()
    gateway.reset()


def _earnings(api, tenant):
    status, body, _ = call(api, "GET", "/v1/earnings", tenant)
    assert status == 200, body
    return body


def _sold(api, make_tenant, seller, times=1):
    made = listing(api, seller, price=PRICE)
    for _ in range(times):
        assert buy(api, make_tenant(plan="pro"), made["id"])[0] == 201
    return made


def _onboarded(api, fake, seller, *, enable_in_stripe=True):
    """Onboarding link → account created; the owner finishes it (in the fake) and Stripe's
    account.updated reaches our Connect webhook."""
    status, body, _ = call(api, "POST", "/v1/payouts/onboarding", seller)
    assert status == 200 and body["url"].startswith(fake.base_url), body
    [account] = [a for a in fake.accounts.values() if a["metadata"].get("workspace_id") == seller.workspace_id]
    if enable_in_stripe:
        fake.onboard(account["id"])  # no URL configured here: the event is delivered below
    obj = {**account, "payouts_enabled": True, "details_submitted": True}
    assert connect_event(api, obj, created=int(time.time()), event_id=f"evt_{account['id']}")[0] == 200
    return account["id"]


def test_earnings_are_held_then_paid_out_once(api, make_tenant, stripe_fake, frozen_clock):
    seller = make_tenant()
    _sold(api, make_tenant, seller)
    net = rules.split(PRICE).net
    expected = {"pending": net, "available": 0, "paid_out": 0, "hold_days": 14, "payouts_enabled": False}
    assert _earnings(api, seller) == {**expected, "payout_account": None}
    status, body, _ = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000})
    assert status == 409 and "onboarding" in body["error"]["message"], body  # no account yet
    account = _onboarded(api, stripe_fake, seller)
    assert _earnings(api, seller)["payouts_enabled"] is True
    assert call(api, "POST", "/v1/payouts", seller, {"amount": 1_000})[0] == 409  # still held
    frozen_clock.advance(days=14, seconds=-1)
    assert _earnings(api, seller)["available"] == 0
    frozen_clock.advance(seconds=1)
    assert (_earnings(api, seller)["pending"], _earnings(api, seller)["available"]) == (0, net)
    key = {"Idempotency-Key": "payout-1"}
    status, paid, _ = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000}, headers=key)
    assert status == 201, paid
    payout = paid["payout"]
    assert payout["status"] == "paid" and payout["cents"] == rules.payout_cents(1_000) and payout["transfer_id"].startswith("tr_")
    [transfer] = stripe_fake.transfers.values()
    assert (transfer["amount"], transfer["destination"], transfer["currency"]) == (1_000, account, "usd")
    replay = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000}, headers=key)
    assert replay[0] == 201 and replay[1] == paid and len(stripe_fake.transfers) == 1
    sent = [p for m, path, p in stripe_fake.requests if m == "POST" and path == "/v1/transfers"]
    assert len(sent) == 1
    earned = _earnings(api, seller)
    assert (earned["pending"], earned["available"], earned["paid_out"]) == (0, net - 1_000, 1_000)
    status, body, _ = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000})
    assert status == 409 and body["error"]["reason"] == "insufficient_earnings", body
    consistent(seller.workspace_id)


def test_maturing_twice_or_concurrently_moves_each_sale_once(api, make_tenant, frozen_clock):
    seller = make_tenant()
    _sold(api, make_tenant, seller, times=3)
    frozen_clock.advance(days=15)
    start = threading.Barrier(4)

    def run(_: int) -> int:
        start.wait()
        return earnings_service.mature_due(seller.workspace_id)

    with ThreadPoolExecutor(4) as pool:
        moved = sum(pool.map(run, range(4)))
    assert moved == 3 and earnings_service.mature_due(seller.workspace_id) == 0
    assert _earnings(api, seller)["available"] == 3 * rules.split(PRICE).net
    consistent(seller.workspace_id)


def test_a_refused_transfer_puts_the_credits_back(api, make_tenant, stripe_fake, frozen_clock):
    seller = make_tenant()
    _sold(api, make_tenant, seller)
    _onboarded(api, stripe_fake, seller, enable_in_stripe=False)  # we were told yes; Stripe says no
    frozen_clock.advance(days=14)
    status, body, _ = call(api, "POST", "/v1/payouts", seller, {"amount": 1_200})
    assert status == 409 and "refused" in body["error"]["message"], body
    earned = _earnings(api, seller)
    assert (earned["available"], earned["paid_out"]) == (rules.split(PRICE).net, 0)
    assert stripe_fake.transfers == {}
    types = [r.type for r in earnings_store.EarningsModel.query(seller.workspace_id) if str(r.entry_id).startswith("ern_")]
    assert types.count("payout") == 1 and types.count("payout_reversed") == 1
    consistent(seller.workspace_id)


def test_a_refund_after_the_payout_is_refused(api, make_tenant, admin, stripe_fake, frozen_clock):
    seller, buyer = make_tenant(), make_tenant(plan="pro")
    made = listing(api, seller, price=PRICE)
    assert buy(api, buyer, made["id"])[0] == 201
    _onboarded(api, stripe_fake, seller)
    frozen_clock.advance(days=14)
    assert call(api, "POST", "/v1/payouts", seller, {"amount": 1_600})[0] == 201
    body = {"listing_id": made["id"], "workspace_id": buyer.workspace_id, "reason": "late complaint"}
    status, answer, _ = call(api, "POST", "/admin/api/marketplace/refunds", admin, body)
    assert status == 409, answer
    assert call(api, "GET", f"/v1/templates/{made['template_id']}", buyer)[0] == 200  # nothing changed
    consistent(seller.workspace_id, buyer.workspace_id)


def test_onboarding_keeps_one_account(api, make_tenant, stripe_fake):
    seller = make_tenant()
    urls = {call(api, "POST", "/v1/payouts/onboarding", seller)[1]["url"] for _ in range(2)}
    assert len(urls) == 1
    accounts = [a for a in stripe_fake.accounts.values() if a["metadata"].get("workspace_id") == seller.workspace_id]
    assert len(accounts) == 1 and accounts[0]["type"] == "express"
    assert _earnings(api, seller)["payout_account"] == accounts[0]["id"]


def test_connect_webhook_signatures(api, make_tenant, stripe_fake):
    seller = make_tenant()
    call(api, "POST", "/v1/payouts/onboarding", seller)
    [account] = [a for a in stripe_fake.accounts.values() if a["metadata"].get("workspace_id") == seller.workspace_id]
    obj = {**account, "payouts_enabled": True}
    now = int(time.time())
    for signature in ("", "t=1,v1=deadbeef", f"t={now},v1=" + "0" * 64):
        status, body = connect_event(api, obj, created=now, event_id="evt_bad", signature=signature)
        assert status == 400 and body["error"]["field"] == "Stripe-Signature", body
    status, body = connect_event(api, obj, created=now, event_id="evt_wrong", secret="whsec_someone_else")
    assert status == 400, body
    status, body, _ = call(api, "POST", "/webhooks/stripe-connect", None, raw="{}")
    assert status == 400, body  # no signature header at all
    for raw in ("[1]", "null", '"event"', "{}", '{"id": 1, "type": "account.updated"}'):
        signed = {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(raw, CONNECT_SECRET)}
        status, body, _ = call(api, "POST", "/webhooks/stripe-connect", None, raw=raw, headers=signed)
        assert status == 400 and body["error"]["field"] == "body", (raw, body)
    assert _earnings(api, seller)["payouts_enabled"] is False


def test_connect_events_apply_once_in_order_and_only_to_their_workspace(api, make_tenant, stripe_fake):
    seller, other = make_tenant(), make_tenant()
    call(api, "POST", "/v1/payouts/onboarding", seller)
    [account] = [a for a in stripe_fake.accounts.values() if a["metadata"].get("workspace_id") == seller.workspace_id]
    now = int(time.time())
    enabled = {**account, "payouts_enabled": True}
    assert connect_event(api, enabled, created=now, event_id="evt_on")[1]["outcome"] == "applied"
    assert connect_event(api, enabled, created=now, event_id="evt_on")[1]["outcome"] == "duplicate"
    older = {**account, "payouts_enabled": False}
    assert connect_event(api, older, created=now - 60, event_id="evt_older")[1]["outcome"] == "ignored"
    assert _earnings(api, seller)["payouts_enabled"] is True
    forged = {**account, "metadata": {"workspace_id": other.workspace_id}, "payouts_enabled": True}
    assert connect_event(api, forged, created=now, event_id="evt_forged")[1]["outcome"] == "ignored"
    assert _earnings(api, other)["payouts_enabled"] is False
    assert connect_event(api, enabled, created=now, event_id="evt_x", kind="payout.paid")[1]["outcome"] == "ignored"
    later = {**account, "payouts_enabled": False}
    assert connect_event(api, later, created=now + 60, event_id="evt_off")[1]["outcome"] == "applied"
    assert _earnings(api, seller)["payouts_enabled"] is False


@pytest.mark.parametrize("amount", [999, 0, -5, 10_000_001, 1_000.5, "1000", True, None])
def test_bad_payout_amounts_are_400(api, make_tenant, amount):
    status, body, _ = call(api, "POST", "/v1/payouts", make_tenant(), {"amount": amount})
    assert status == 400 and body["error"]["field"] == "amount", body


def test_payouts_need_owners_or_admins(api, make_tenant, admin):
    from tests.functional.teams_helpers import join

    t = make_tenant()
    member = join(api, t, admin, "member")
    assert call(api, "GET", "/v1/earnings", member)[0] == 403
    assert call(api, "POST", "/v1/payouts", member, {"amount": 1_000})[0] == 403
    assert call(api, "POST", "/v1/payouts/onboarding", member)[0] == 403


def test_stripe_unreachable_during_onboarding_is_503_and_keeps_nothing(api, make_tenant, stripe_fake):
    seller = make_tenant()
    stripe_fake.stop()  # Stripe is down
    status, body, _ = call(api, "POST", "/v1/payouts/onboarding", seller)
    assert status == 503 and body["error"]["code"] == "service_unavailable", body
    assert _earnings(api, seller)["payout_account"] is None


def test_an_unknown_transfer_answer_is_finished_by_a_retry_with_the_same_key(api, make_tenant, stripe_fake, frozen_clock):
    seller = make_tenant()
    _sold(api, make_tenant, seller)
    _onboarded(api, stripe_fake, seller)
    frozen_clock.advance(days=14)
    port = int(stripe_fake.base_url.rsplit(":", 1)[1])
    stripe_fake.stop()  # the transfer request gets no answer
    key = {"Idempotency-Key": "payout-during-outage"}
    status, body, _ = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000}, headers=key)
    assert status == 503 and body["error"]["code"] == "service_unavailable", body
    reserved = _earnings(api, seller)
    assert (reserved["available"], reserved["paid_out"]) == (600, 1_000)  # held for the payout in flight
    stripe_fake.start("127.0.0.1", port)
    status, body, _ = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000}, headers=key)
    assert status == 201 and body["payout"]["status"] == "paid", body
    again = call(api, "POST", "/v1/payouts", seller, {"amount": 1_000}, headers=key)
    assert again[0] == 201 and again[1] == body
    assert len(stripe_fake.transfers) == 1
    assert (_earnings(api, seller)["available"], _earnings(api, seller)["paid_out"]) == (600, 1_000)
    consistent(seller.workspace_id)
