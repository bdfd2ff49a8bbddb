"""A seller's own listings and a buyer's purchases through the real routes on moto: withdrawing
(`DELETE /v1/marketplace/listings/{id}`: off sale for good, buyers keep the template), repricing
(`PATCH`, later purchases pay the new price; a purchase racing a reprice charges nothing), and
`GET /v1/marketplace/purchases` (newest first, signed cursors); bad input and other tenants' ids."""

from __future__ import annotations

import pytest

from chalicelib.marketplace import purchases as purchase_service
from chalicelib.marketplace import rules
from chalicelib.store import marketplace as market_store
from chalicelib.store.models import ListingModel
from tests.functional.helpers import call
from tests.functional.marketplace_helpers import available, buy, consistent, listing

GHOST = "lst_00000000000000000000000000"


def _listing(api, tenant, listing_id):
    return call(api, "GET", f"/v1/marketplace/listings/{listing_id}", tenant)


def _browse_ids(api, tenant):
    page = call(api, "GET", "/v1/marketplace/listings?q=neon&limit=100", tenant)[1]["data"]
    return {item["id"] for item in page}


def test_a_withdrawn_listing_is_off_sale_and_its_buyers_keep_it(api, make_tenant, admin):
    seller, buyer, other = make_tenant(), make_tenant(), make_tenant()
    made = listing(api, seller, price=300)
    assert buy(api, buyer, made["id"])[0] == 201
    call(api, "POST", f"/v1/marketplace/listings/{made['id']}/reports", other, {"reason": "spam"})
    path = f"/v1/marketplace/listings/{made['id']}"
    assert call(api, "DELETE", path, other)[0] == 404  # another workspace's: as if it did not exist
    assert _listing(api, other, made["id"])[0] == 200  # ... and nothing changed
    status, body, _ = call(api, "DELETE", path, seller)
    assert status == 204 and not body, body
    assert call(api, "DELETE", path, seller)[0] == 204  # twice: the same
    assert made["id"] not in _browse_ids(api, other) and made["id"] not in _browse_ids(api, buyer)
    queue = call(api, "GET", "/admin/api/marketplace/reports?limit=100", admin)[1]["data"]
    assert made["id"] not in {c["id"] for c in queue}
    assert _listing(api, other, made["id"])[0] == 404
    assert buy(api, other, made["id"])[0] == 404
    mine = _listing(api, seller, made["id"])[1]["listing"]
    assert mine["status"] == "withdrawn" and mine["sales"] == 1
    bought = _listing(api, buyer, made["id"])[1]["listing"]
    assert bought["status"] == "withdrawn" and bought["purchased"] is True
    assert call(api, "GET", f"/v1/templates/{made['template_id']}", buyer)[0] == 200  # still theirs
    assert call(api, "GET", f"/v1/templates/{made['template_id']}", other)[0] == 404  # not free now
    again = call(api, "POST", "/v1/marketplace/listings", seller, {"template_id": made["template_id"], "price_credits": 5})
    assert again[0] == 409, again
    body = {"listing_id": made["id"], "workspace_id": buyer.workspace_id, "reason": "asked nicely"}
    assert call(api, "POST", "/admin/api/marketplace/refunds", admin, body)[0] == 200  # refunds still work
    assert _listing(api, buyer, made["id"])[0] == 404  # refunded: no longer theirs to see
    consistent(seller.workspace_id, buyer.workspace_id)


def test_withdrawing_a_hidden_listing_and_unknown_ids(api, make_tenant, admin):
    seller = make_tenant()
    made = listing(api, seller)
    assert call(api, "POST", f"/admin/api/marketplace/listings/{made['id']}/hide", admin, {"reason": "spam"})[0] == 200
    assert call(api, "DELETE", f"/v1/marketplace/listings/{made['id']}", seller)[0] == 204
    row = market_store.get_listing(made["id"])
    assert row is not None and (row.status, row.hidden_reason) == ("withdrawn", "spam")
    for bad in (GHOST, "lst_x", "nope", "tpl_" + "0" * 26):
        status, body, _ = call(api, "DELETE", f"/v1/marketplace/listings/{bad}", seller)
        assert status == 404 and body["error"]["code"] == "not_found", (bad, body)


def test_repricing_changes_what_later_purchases_pay(api, make_tenant):
    seller, buyer, other = make_tenant(), make_tenant(), make_tenant()
    made = listing(api, seller, price=100)
    path = f"/v1/marketplace/listings/{made['id']}"
    status, body, _ = call(api, "PATCH", path, other, {"price_credits": 1})
    assert status == 404, body
    status, body, _ = call(api, "PATCH", path, seller, {"price_credits": 250})
    assert status == 200 and body["listing"]["price_credits"] == 250 and body["listing"]["mine"] is True, body
    assert _listing(api, other, made["id"])[1]["listing"]["price_credits"] == 250
    before = available(buyer.workspace_id)
    status, bought, _ = buy(api, buyer, made["id"])
    assert status == 201 and bought["purchase"]["price_credits"] == 250, bought
    assert bought["purchase"]["creator_credits"] == rules.split(250).net
    assert available(buyer.workspace_id) == before - 250
    assert call(api, "DELETE", path, seller)[0] == 204
    status, body, _ = call(api, "PATCH", path, seller, {"price_credits": 300})
    assert status == 409 and body["error"]["code"] == "conflict", body  # withdrawn: not for sale
    consistent(seller.workspace_id, buyer.workspace_id)


def test_a_purchase_racing_a_reprice_charges_nothing(api, make_tenant, monkeypatch):
    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller, price=100)
    before = available(buyer.workspace_id)
    real = purchase_service._current_period

    def reprice_meanwhile(workspace_id, now):  # after the buyer's read, before the charge
        real(workspace_id, now)
        assert call(api, "PATCH", f"/v1/marketplace/listings/{made['id']}", seller, {"price_credits": 900})[0] == 200

    with monkeypatch.context() as patched:
        patched.setattr(purchase_service, "_current_period", reprice_meanwhile)
        status, body, _ = buy(api, buyer, made["id"])
    assert status == 409 and body["error"]["code"] == "conflict" and body["error"]["price_credits"] == 900, body
    assert available(buyer.workspace_id) == before
    assert _listing(api, seller, made["id"])[1]["listing"]["sales"] == 0
    status, bought, _ = buy(api, buyer, made["id"])
    assert status == 201 and bought["purchase"]["price_credits"] == 900
    consistent(seller.workspace_id, buyer.workspace_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"price_credits": 0}, "price_credits"), ({"price_credits": 100_001}, "price_credits"),
     ({"price_credits": -5}, "price_credits"), ({"price_credits": 2.5}, "price_credits"),
     ({"price_credits": "10"}, "price_credits"), ({"price_credits": True}, "price_credits"),
     ({"price_credits": None}, "price_credits"), ({}, "price_credits"), ({"price_credits": 10, "name": "x"}, "name"),
     ([10], None), ("10", None)],
)  # fmt: skip
def test_bad_reprice_bodies_are_400_and_change_nothing(api, make_tenant, body, field):
    seller = make_tenant()
    made = listing(api, seller, price=100)
    status, answer, _ = call(api, "PATCH", f"/v1/marketplace/listings/{made['id']}", seller, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request" and answer["error"]["request_id"], answer
    if field:
        assert answer["error"]["field"] == field, answer
    assert int(ListingModel.get(made["id"], consistent_read=True).price_credits) == 100


def test_a_buyers_purchases_newest_first_with_signed_cursors(api, make_tenant, admin, frozen_clock):
    seller, buyer, other = make_tenant(), make_tenant(), make_tenant()
    made = [listing(api, seller, price=10 + n) for n in range(3)]
    for item in made:
        assert buy(api, buyer, item["id"])[0] == 201
        frozen_clock.advance(seconds=2)
    assert buy(api, other, made[0]["id"])[0] == 201
    refund = {"listing_id": made[1]["id"], "workspace_id": buyer.workspace_id, "reason": "duplicate"}
    assert call(api, "POST", "/admin/api/marketplace/refunds", admin, refund)[0] == 200
    status, first, _ = call(api, "GET", "/v1/marketplace/purchases?limit=2", buyer)
    assert status == 200 and first["next_cursor"], first
    assert [p["listing_id"] for p in first["data"]] == [made[2]["id"], made[1]["id"]]
    assert [p["status"] for p in first["data"]] == ["purchased", "refunded"]
    assert first["data"][0] == {**first["data"][0], "price_credits": 12, "workspace_id": buyer.workspace_id}
    status, rest, _ = call(api, "GET", f"/v1/marketplace/purchases?limit=2&cursor={first['next_cursor']}", buyer)
    assert status == 200 and [p["listing_id"] for p in rest["data"]] == [made[0]["id"]] and rest["next_cursor"] is None
    theirs = call(api, "GET", "/v1/marketplace/purchases", other)[1]
    assert [p["listing_id"] for p in theirs["data"]] == [made[0]["id"]]
    assert call(api, "GET", "/v1/marketplace/purchases", seller)[1] == {"data": [], "next_cursor": None}
    status, body, _ = call(api, "GET", f"/v1/marketplace/purchases?cursor={first['next_cursor']}", other)
    assert status == 400 and body["error"]["field"] == "cursor", body  # bound to the workspace


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("cursor=forged.cursor", "cursor"),
     ("sort=new", "sort")],
)  # fmt: skip
def test_bad_purchases_parameters_are_400(api, make_tenant, query, field):
    status, body, _ = call(api, "GET", f"/v1/marketplace/purchases?{query}", make_tenant())
    assert status == 400 and body["error"]["field"] == field and body["error"]["code"] == "invalid_request", body
