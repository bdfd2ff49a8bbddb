"""The payout sweeper (tasks.sweep_payouts) on moto with the fake Stripe API: payouts left
`requested` by a crash or a lost answer are finished with the SAME idempotency key (Stripe
answers the transfer it already made), refused ones give the credits back, young ones are left
alone, and running it twice or concurrently sends nothing twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib.domain import Unavailable
from chalicelib.marketplace import connect, rules
from chalicelib.store import earnings as earnings_store
from chalicelib.tasks import SCHEDULED, sweep_payouts
from tests.functional import test_marketplace_payouts as payouts
from tests.functional.helpers import call
from tests.functional.marketplace_helpers import consistent
from tests.functional.test_marketplace_payouts import PRICE, _earnings, _onboarded, _sold

stripe_fake = payouts.stripe_fake  # the fake Stripe API fixture, shared with the payout tests
AMOUNT = 1_000
LATE = rules.PAYOUT_SWEEP_AFTER + timedelta(seconds=1)
NOTHING = {"paid": 0, "returned": 0, "left": 0, "already": 0}


@pytest.fixture()
def seller(api, make_tenant, stripe_fake, frozen_clock):
    """A creator with matured earnings and an onboarded account."""
    tenant = make_tenant()
    _sold(api, make_tenant, tenant)
    _onboarded(api, stripe_fake, tenant)
    frozen_clock.advance(days=rules.HOLD_DAYS)
    return tenant


def _stranded(api, seller, monkeypatch, *, reach_stripe: bool, key: str = "po-1") -> None:
    """A payout request whose Stripe answer never comes back: the transfer is made (or not, when
    the process died before the call) and the client sees a 503 it never retries."""
    real = connect.transfer

    def lost(*args, **kwargs):
        if reach_stripe:
            real(*args, **kwargs)
        raise Unavailable("the answer was lost", retry_after=30)

    with monkeypatch.context() as patched:
        patched.setattr(connect, "transfer", lost)
        status, body, _ = call(api, "POST", "/v1/payouts", seller, {"amount": AMOUNT}, headers={"Idempotency-Key": key})
    assert status == 503, body


def _payouts(workspace_id: str) -> list[earnings_store.EarningsModel]:
    return [r for r in earnings_store.EarningsModel.query(workspace_id) if str(r.entry_id).startswith("pay#")]


def _transfer_posts(fake) -> int:
    return sum(1 for method, path, _ in fake.requests if method == "POST" and path == "/v1/transfers")


def test_a_transfer_made_but_whose_answer_was_lost_is_recorded_not_sent_again(
    api, seller, stripe_fake, monkeypatch, frozen_clock
):
    _stranded(api, seller, monkeypatch, reach_stripe=True)
    [made] = stripe_fake.transfers.values()
    [payout] = _payouts(seller.workspace_id)
    assert payout.status == "requested" and payout.open_payout == earnings_store.OPEN_PAYOUTS
    assert _earnings(api, seller)["paid_out"] == AMOUNT  # reserved: not spendable twice meanwhile
    assert sweep_payouts() == NOTHING  # too young: its request may still be waiting for Stripe
    frozen_clock.advance(seconds=int(LATE.total_seconds()))
    assert sweep_payouts() == {**NOTHING, "paid": 1}
    [payout] = _payouts(seller.workspace_id)
    assert (payout.status, payout.transfer_id, payout.open_payout) == ("paid", made["id"], None)
    assert len(stripe_fake.transfers) == 1 and _transfer_posts(stripe_fake) == 2  # asked again, answered the same
    assert sweep_payouts() == NOTHING  # twice: nothing more
    status, again, _ = call(api, "POST", "/v1/payouts", seller, {"amount": AMOUNT}, headers={"Idempotency-Key": "po-1"})
    assert status == 201 and again["payout"]["transfer_id"] == made["id"], again  # the client's late retry agrees
    assert len(stripe_fake.transfers) == 1
    consistent(seller.workspace_id)


def test_a_crash_before_stripe_was_called_is_finished_by_the_sweeper(api, seller, stripe_fake, monkeypatch, frozen_clock):
    _stranded(api, seller, monkeypatch, reach_stripe=False)
    assert stripe_fake.transfers == {}
    frozen_clock.advance(seconds=int(LATE.total_seconds()))
    assert SCHEDULED["sweep_payouts"]() == {**NOTHING, "paid": 1}
    [made] = stripe_fake.transfers.values()
    assert (made["amount"], made["metadata"]["workspace_id"]) == (rules.payout_cents(AMOUNT), seller.workspace_id)
    [payout] = _payouts(seller.workspace_id)
    assert (payout.status, payout.transfer_id) == ("paid", made["id"])
    consistent(seller.workspace_id)


def test_a_refused_transfer_returns_the_credits(api, seller, stripe_fake, monkeypatch, frozen_clock):
    _stranded(api, seller, monkeypatch, reach_stripe=False)
    account = next(iter(stripe_fake.accounts.values()))
    account["capabilities"]["transfers"] = "inactive"  # Stripe disabled the account meanwhile
    frozen_clock.advance(seconds=int(LATE.total_seconds()))
    assert sweep_payouts() == {**NOTHING, "returned": 1}
    earned = _earnings(api, seller)
    assert (earned["available"], earned["paid_out"]) == (rules.split(PRICE).net, 0)
    [payout] = _payouts(seller.workspace_id)
    assert payout.status == "failed" and payout.open_payout is None and stripe_fake.transfers == {}
    assert sweep_payouts() == NOTHING
    consistent(seller.workspace_id)


def test_stripe_still_silent_leaves_the_payout_for_the_next_run(api, seller, stripe_fake, monkeypatch, frozen_clock):
    _stranded(api, seller, monkeypatch, reach_stripe=False)
    frozen_clock.advance(seconds=int(LATE.total_seconds()))
    monkeypatch.setattr(connect, "transfer", lambda *a, **k: (_ for _ in ()).throw(Unavailable("down", retry_after=30)))
    assert sweep_payouts() == {**NOTHING, "left": 1}
    assert _payouts(seller.workspace_id)[0].status == "requested"
    monkeypatch.undo()
    assert sweep_payouts() == {**NOTHING, "paid": 1}
    assert len(stripe_fake.transfers) == 1
    consistent(seller.workspace_id)


def test_concurrent_sweeps_send_each_payout_once(api, make_tenant, stripe_fake, monkeypatch, frozen_clock):
    sellers = [make_tenant(), make_tenant()]
    for tenant in sellers:
        _sold(api, make_tenant, tenant)
        _onboarded(api, stripe_fake, tenant)
    frozen_clock.advance(days=rules.HOLD_DAYS)
    for tenant in sellers:
        _stranded(api, tenant, monkeypatch, reach_stripe=True)
    frozen_clock.advance(seconds=int(LATE.total_seconds()))
    start = threading.Barrier(4)

    def run(_: int) -> dict[str, int]:
        start.wait()
        return sweep_payouts()

    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(run, range(4)))
    reports.append(sweep_payouts())  # whoever Stripe told "in progress" is finished here
    assert sum(r["paid"] for r in reports) == 2 and sum(r["returned"] for r in reports) == 0
    assert len(stripe_fake.transfers) == 2
    for tenant in sellers:
        [payout] = _payouts(tenant.workspace_id)
        assert payout.status == "paid" and payout.transfer_id in stripe_fake.transfers
        assert _earnings(api, tenant)["paid_out"] == AMOUNT
        consistent(tenant.workspace_id)
