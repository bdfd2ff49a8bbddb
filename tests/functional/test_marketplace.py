"""The marketplace through the real routes on moto: listing, browsing, buying exactly once (replays,
threads), 402/409/own listing, other tenants' ids, a purchased template in a job, ratings,
reports and hiding, and admin refunds that reverse both sides (API.md "Platform")."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.marketplace import rules
from chalicelib.store import audit
from chalicelib.store import marketplace as market_store
from tests.functional.helpers import call, purge
from tests.functional.marketplace_helpers import TEMPLATE, available, buy, consistent, listing, market_entries, template

GHOST = "lst_00000000000000000000000000"


def _earnings(api, tenant):
    status, body, _ = call(api, "GET", "/v1/earnings", tenant)
    assert status == 200, body
    return body


def test_list_browse_buy_and_use_a_template(api, make_tenant):
    purge()
    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller, price=100)
    assert made["id"].startswith("lst_") and made["price_credits"] == 100 and made["status"] == "active"
    assert made["mine"] is True and made["sales"] == 0 and made["rating"] == {"average": None, "count": 0}
    tpl = made["template_id"]
    # Listed: other workspaces neither see it among public templates nor use it for free.
    assert call(api, "GET", f"/v1/templates/{tpl}", buyer)[0] == 404
    assert call(api, "POST", "/v1/jobs", buyer, {"template_id": tpl, "variables": {"city": "oslo"}})[0] == 404
    public = call(api, "GET", "/v1/templates?scope=public&q=neon&limit=100", buyer)[1]["data"]
    assert tpl not in {t["id"] for t in public}
    # Browse: found by a word of its name, by tag, in both orders; the prompt is never shown.
    for query in ("q=neon", "tag=poster", "sort=top", "sort=new&q=city+poster"):
        status, page, _ = call(api, "GET", f"/v1/marketplace/listings?{query}&limit=100", buyer)
        assert status == 200, page
        assert made["id"] in {item["id"] for item in page["data"]}, query
        assert all("prompt" not in item for item in page["data"])
    before = available(buyer.workspace_id)
    status, body, _ = buy(api, buyer, made["id"])
    assert status == 201, body
    cut = rules.split(100)
    assert body["purchase"] == {**body["purchase"], "price_credits": 100, "fee_credits": cut.fee,
                                "creator_credits": cut.net, "status": "purchased", "template_id": tpl}  # fmt: skip
    assert available(buyer.workspace_id) == before - 100
    [entry] = market_entries(buyer.workspace_id)
    assert entry.type == "marketplace_purchase" and int(entry.amount) == -100
    assert _earnings(api, seller)["pending"] == cut.net == 80
    page = call(api, "GET", f"/v1/marketplace/listings/{made['id']}", buyer)[1]["listing"]
    assert page["sales"] == 1 and page["purchased"] is True and page["mine"] is False
    # The buyer may now read and use the template in jobs.
    assert call(api, "GET", f"/v1/templates/{tpl}", buyer)[0] == 200
    status, job, _ = call(api, "POST", "/v1/jobs", buyer, {"template_id": tpl, "variables": {"city": "oslo"}})
    assert status == 202, job
    assert job["job"]["prompt"] == "a neon oslo skyline at night, poster style"
    consistent(buyer.workspace_id, seller.workspace_id)
    purge()


def test_a_replayed_purchase_answers_the_first_response_and_charges_once(api, make_tenant):
    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller, price=250)
    before = available(buyer.workspace_id)
    first = buy(api, buyer, made["id"], key="buy-1")
    again = buy(api, buyer, made["id"], key="buy-1")
    assert first[0] == again[0] == 201
    assert first[1] == again[1] and again[2].get("Idempotent-Replayed") == "true"
    assert buy(api, buyer, made["id"], key="buy-2")[0] == 409  # another key: re-buying is refused
    assert available(buyer.workspace_id) == before - 250
    assert len(market_entries(buyer.workspace_id)) == 1
    assert _earnings(api, seller)["pending"] == rules.split(250).net
    consistent(buyer.workspace_id, seller.workspace_id)


def test_concurrent_purchases_of_one_listing_by_one_buyer_charge_once(api, make_tenant):
    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller, price=300)
    before = available(buyer.workspace_id)
    start = threading.Barrier(8)

    def attempt(n: int) -> int:
        start.wait()
        return buy(api, buyer, made["id"], key=f"race-{n}" if n % 2 else None)[0]

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(attempt, range(8)))
    assert statuses[201] == 1 and statuses[201] + statuses[409] == 8, statuses
    assert available(buyer.workspace_id) == before - 300
    assert len(market_entries(buyer.workspace_id)) == 1
    assert _earnings(api, seller)["pending"] == rules.split(300).net
    assert call(api, "GET", f"/v1/marketplace/listings/{made['id']}", seller)[1]["listing"]["sales"] == 1
    consistent(buyer.workspace_id, seller.workspace_id)


def test_402_when_the_buyer_cannot_pay_changes_nothing(api, make_tenant):
    seller, poor = make_tenant(), make_tenant(plan="free")  # 50 credits
    made = listing(api, seller, price=51)
    before = available(poor.workspace_id)
    status, body, _ = buy(api, poor, made["id"])
    assert status == 402 and body["error"]["code"] == "insufficient_credits", body
    assert available(poor.workspace_id) == before and market_entries(poor.workspace_id) == []
    assert market_store.get_purchase(poor.workspace_id, made["template_id"]) is None
    assert _earnings(api, seller) | {"hold_days": 0} == {**_earnings(api, seller), "pending": 0, "hold_days": 0}
    assert call(api, "GET", f"/v1/marketplace/listings/{made['id']}", seller)[1]["listing"]["sales"] == 0
    consistent(poor.workspace_id, seller.workspace_id)


def test_own_listing_and_rebuying_are_refused(api, make_tenant):
    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller)
    status, body, _ = buy(api, seller, made["id"])
    assert status == 403 and body["error"]["code"] == "forbidden", body
    assert buy(api, buyer, made["id"])[0] == 201
    status, body, _ = buy(api, buyer, made["id"])
    assert status == 409 and body["error"]["code"] == "conflict", body
    assert len(market_entries(buyer.workspace_id)) == 1 and market_entries(seller.workspace_id) == []


def test_other_tenants_ids_are_not_found(api, make_tenant):
    seller, other = make_tenant(), make_tenant()
    theirs = template(api, seller)
    status, body, _ = call(api, "POST", "/v1/marketplace/listings", other, {"template_id": theirs, "price_credits": 10})
    assert status == 404 and body["error"]["field"] == "template_id", body
    for path in (f"/v1/marketplace/listings/{GHOST}", "/v1/marketplace/listings/not-an-id"):
        assert call(api, "GET", path, other)[0] == 404
        assert call(api, "POST", f"{path}/purchase", other)[0] == 404
        assert call(api, "POST", f"{path}/ratings", other, {"stars": 4})[0] == 404
        assert call(api, "POST", f"{path}/reports", other, {"reason": "spam"})[0] == 404
    assert call(api, "GET", "/v1/marketplace/listings?q=neon&limit=100", other)[0] == 200


def test_only_public_templates_once_each(api, make_tenant):
    seller = make_tenant()
    for visibility in ("private", "workspace"):
        tpl = template(api, seller, visibility=visibility)
        status, body, _ = call(api, "POST", "/v1/marketplace/listings", seller, {"template_id": tpl, "price_credits": 10})
        assert status == 409 and body["error"]["field"] == "template_id", body
    made = listing(api, seller)
    status, body, _ = call(
        api, "POST", "/v1/marketplace/listings", seller, {"template_id": made["template_id"], "price_credits": 9}
    )
    assert status == 409, body
    deleted = template(api, seller)
    assert call(api, "DELETE", f"/v1/templates/{deleted}", seller)[0] == 204
    assert call(api, "POST", "/v1/marketplace/listings", seller, {"template_id": deleted, "price_credits": 9})[0] == 404


BAD_LISTINGS = [
    ({}, "template_id"),
    ({"template_id": "tpl_x"}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": 0}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": -1}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": 100_001}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": 1.5}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": "10"}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": True}, "price_credits"),
    ({"template_id": "tpl_x", "price_credits": None}, "price_credits"),
    ({"template_id": 7, "price_credits": 10}, "template_id"),
    ({"template_id": "", "price_credits": 10}, "template_id"),
    ({"template_id": "tpl x/../", "price_credits": 10}, "template_id"),
    ({"template_id": "t" * 65, "price_credits": 10}, "template_id"),
    ({"template_id": "tpl_x", "price_credits": 10, "currency": "usd"}, "currency"),
]


@pytest.mark.parametrize(("body", "field"), BAD_LISTINGS)
def test_bad_listing_bodies_are_400_and_create_nothing(api, make_tenant, body, field):
    seller = make_tenant()
    status, answer, _ = call(api, "POST", "/v1/marketplace/listings", seller, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert answer["error"]["field"] == field
    assert answer["error"]["request_id"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("sort=old", "sort"), ("colour=red", "colour"), ("q=one+two+three+four+five+six", "q"), ("q=" + "a" * 201, "q"),
     ("tag=Bad+Tag", "tag"), ("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
     ("cursor=forged.cursor", "cursor")],
)  # fmt: skip
def test_bad_browse_parameters_are_400(api, make_tenant, query, field):
    status, body, _ = call(api, "GET", f"/v1/marketplace/listings?{query}", make_tenant())
    assert status == 400 and body["error"]["field"] == field, body


def test_cursors_are_signed_and_bound_to_the_browse(api, make_tenant):
    seller, viewer = make_tenant(), make_tenant()
    word = f"zeb{seller.workspace_id[-6:].lower()}"
    for _ in range(3):
        listing(api, seller, name=f"{word} poster")
    first = call(api, "GET", f"/v1/marketplace/listings?q={word}&limit=2", viewer)[1]
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = call(api, "GET", f"/v1/marketplace/listings?q={word}&limit=2&cursor={first['next_cursor']}", viewer)[1]
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    assert not {i["id"] for i in first["data"]} & {i["id"] for i in rest["data"]}
    status, body, _ = call(api, "GET", f"/v1/marketplace/listings?sort=top&limit=2&cursor={first['next_cursor']}", viewer)
    assert status == 400 and body["error"]["field"] == "cursor"


@pytest.mark.parametrize("stars", [0, 6, -1, "5", 4.5, True, None])
def test_bad_ratings_are_400(api, make_tenant, stars):
    status, body, _ = call(api, "POST", f"/v1/marketplace/listings/{GHOST}/ratings", make_tenant(), {"stars": stars})
    assert status == 400 and body["error"]["field"] == "stars", body


def test_ratings_come_from_buyers_only(api, make_tenant):
    seller, first, second, stranger = make_tenant(), make_tenant(), make_tenant(), make_tenant()
    made = listing(api, seller)
    path = f"/v1/marketplace/listings/{made['id']}/ratings"
    assert call(api, "POST", path, stranger, {"stars": 5})[0] == 403
    assert call(api, "POST", path, seller, {"stars": 5})[0] == 403
    assert buy(api, first, made["id"])[0] == 201 and buy(api, second, made["id"])[0] == 201
    assert call(api, "POST", path, first, {"stars": 5})[1]["listing"]["rating"] == {"average": 5.0, "count": 1}
    rated = call(api, "POST", path, first, {"stars": 2})[1]["listing"]  # a new rating replaces the old one
    assert rated["rating"] == {"average": 2.0, "count": 1} and rated["my_stars"] == 2
    assert call(api, "POST", path, second, {"stars": 5})[1]["listing"]["rating"] == {"average": 3.5, "count": 2}
    page = call(api, "GET", f"/v1/marketplace/listings/{made['id']}", stranger)[1]["listing"]
    assert page["rating"] == {"average": 3.5, "count": 2} and page["sales"] == 2 and page["my_stars"] is None


def test_reports_and_hiding(api, make_tenant, admin):
    seller, buyer, reporter = make_tenant(), make_tenant(), make_tenant()
    made = listing(api, seller)
    assert buy(api, buyer, made["id"])[0] == 201
    path = f"/v1/marketplace/listings/{made['id']}/reports"
    first = call(api, "POST", path, reporter, {"reason": "copyright", "note": "my prompt"})
    again = call(api, "POST", path, reporter, {"reason": "spam"})
    assert first[0] == again[0] == 201
    assert first[1]["report"]["counted"] is True and again[1]["report"]["counted"] is False
    assert call(api, "POST", path, reporter, {"reason": "rude"})[0] == 400
    queue = call(api, "GET", "/admin/api/marketplace/reports?limit=100", admin)[1]["data"]
    [case] = [c for c in queue if c["id"] == made["id"]]
    assert case["reports"] == 1
    hide = f"/admin/api/marketplace/listings/{made['id']}/hide"
    assert call(api, "POST", hide, seller, {"reason": "x"})[0] == 403
    status, hidden, _ = call(api, "POST", hide, admin, {"reason": "stolen prompt"})
    assert status == 200 and hidden["changed"] is True and hidden["listing"]["status"] == "hidden", hidden
    assert call(api, "POST", hide, admin, {"reason": "again"})[1]["changed"] is False
    trail = [a for a in audit.trail(seller.workspace_id) if a.action == "marketplace.listing.hide"]
    assert len(trail) == 1 and trail[0].reason == "stolen prompt"
    # Off sale: out of browses and the queue, not found for others, still the seller's to see.
    browse = call(api, "GET", "/v1/marketplace/listings?limit=100&q=neon", reporter)[1]["data"]
    assert made["id"] not in {i["id"] for i in browse}
    assert made["id"] not in {c["id"] for c in call(api, "GET", "/admin/api/marketplace/reports?limit=100", admin)[1]["data"]}
    assert call(api, "GET", f"/v1/marketplace/listings/{made['id']}", reporter)[0] == 404
    assert buy(api, reporter, made["id"])[0] == 404
    assert call(api, "GET", f"/v1/marketplace/listings/{made['id']}", seller)[1]["listing"]["status"] == "hidden"
    # Who bought it keeps the template they paid for.
    assert call(api, "GET", f"/v1/templates/{made['template_id']}", buyer)[0] == 200


def test_an_admin_refund_reverses_both_sides_in_one_transaction(api, make_tenant, admin):
    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller, price=400)
    before = available(buyer.workspace_id)
    assert buy(api, buyer, made["id"])[0] == 201
    body = {"listing_id": made["id"], "workspace_id": buyer.workspace_id, "reason": "never delivered"}
    assert call(api, "POST", "/admin/api/marketplace/refunds", buyer, body)[0] == 403
    status, refunded, _ = call(api, "POST", "/admin/api/marketplace/refunds", admin, body, headers={"Idempotency-Key": "r1"})
    assert status == 200 and refunded["purchase"]["status"] == "refunded", refunded
    assert call(api, "POST", "/admin/api/marketplace/refunds", admin, body, headers={"Idempotency-Key": "r1"})[0] == 200
    assert call(api, "POST", "/admin/api/marketplace/refunds", admin, body)[0] == 404  # refunded already
    assert available(buyer.workspace_id) == before
    assert sum(int(e.amount) for e in market_entries(buyer.workspace_id)) == 0
    assert [e.type for e in market_entries(buyer.workspace_id)].count("marketplace_refund") == 1
    earned = _earnings(api, seller)
    assert (earned["pending"], earned["available"], earned["paid_out"]) == (0, 0, 0)
    assert call(api, "GET", f"/v1/marketplace/listings/{made['id']}", seller)[1]["listing"]["sales"] == 0
    actions = {a.action for a in audit.trail(seller.workspace_id)} | {a.action for a in audit.trail(buyer.workspace_id)}
    assert {"marketplace.sale.refund", "credits.marketplace_refund"} <= actions
    consistent(buyer.workspace_id, seller.workspace_id)
    # The template is no longer theirs; they may buy it again.
    assert call(api, "GET", f"/v1/templates/{made['template_id']}", buyer)[0] == 404
    assert buy(api, buyer, made["id"])[0] == 201
    assert available(buyer.workspace_id) == before - 400
    consistent(buyer.workspace_id, seller.workspace_id)


_REFUND = {"listing_id": "lst_x", "workspace_id": "ws_x", "reason": "r"}


@pytest.mark.parametrize(
    "body",
    [{}, {**_REFUND, "reason": None}, {**_REFUND, "reason": ""}, {**_REFUND, "listing_id": 1}, {**_REFUND, "x": 1},
     {"listing_id": "lst_x", "workspace_id": "ws_x"}],
)  # fmt: skip
def test_bad_refund_bodies_are_400(api, admin, body):
    status, answer, _ = call(api, "POST", "/admin/api/marketplace/refunds", admin, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer


def test_purchase_and_onboarding_take_no_body(api, make_tenant):
    t = make_tenant()
    assert call(api, "POST", f"/v1/marketplace/listings/{GHOST}/purchase", t, {"x": 1})[0] == 400
    assert call(api, "POST", f"/v1/marketplace/listings/{GHOST}/purchase", t, raw="[]")[0] == 400
    assert call(api, "POST", "/v1/payouts/onboarding", t, {"x": 1})[0] == 400


def test_members_browse_and_rate_but_only_owners_and_admins_buy(api, make_tenant, admin):
    from tests.functional.teams_helpers import join

    seller, buyer = make_tenant(), make_tenant()
    made = listing(api, seller)
    member = join(api, buyer, admin, "member")
    assert call(api, "GET", f"/v1/marketplace/listings/{made['id']}", member)[0] == 200
    assert buy(api, member, made["id"])[0] == 403
    assert buy(api, buyer, made["id"])[0] == 201
    assert call(api, "POST", f"/v1/marketplace/listings/{made['id']}/ratings", member, {"stars": 4})[0] == 200
    assert TEMPLATE["visibility"] == "public"
