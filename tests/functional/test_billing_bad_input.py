"""Every bad Stripe input gets a clear answer and changes nothing.

A matrix over the webhook: each malformed shape for each handled event type, bodies that are not
events, oversize bodies, stale and future timestamps, bad signatures, credits in metadata that
the money does not buy, amounts and currencies that do not match the catalog, unknown workspaces.
For each: the status, the envelope, and a snapshot of every table before and after (the
rejected-events table may gain only the event's own two rows). Each valid template is first shown
to change something, so "nothing changed" means the refusal did it.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import clock, ids
from chalicelib.accounting.periods import period_of
from chalicelib.billing import gateway
from chalicelib.local.fake_stripe import FakeStripe, event_for, new_id, stripe_object
from chalicelib.settings import reset_settings
from chalicelib.tenancy import create_workspace
from tests.conftest import Tenant, use_tables
from tests.functional.billing_helpers import SECRET, World, build_world, plan_price, post, rejected_rows, sign, snapshot
from tests.functional.helpers import app_client, call

pytestmark = pytest.mark.xdist_group("billing-matrix")  # one world per module, on one worker

Mutation = Callable[[dict[str, Any], World], None]
UNKNOWN_WS = ids.new_id("ws")


@pytest.fixture(scope="module")
def matrix(moto_server: int) -> Iterator[tuple[Any, World]]:
    """One world on its own tables for the whole module: the matrix must never change it."""
    use_tables(moto_server, f"t{os.getpid()}-billing-matrix")
    fake = FakeStripe()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STRIPE_API_BASE", fake.start())
        mp.setenv("STRIPE_API_KEY", "sk_test_fake")
        mp.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
        gateway.reset()
        with app_client() as api:
            tenants = []
            for n, plan in enumerate(("free", "free")):
                made = create_workspace(f"Matrix {n}", f"matrix{n}@example.test", plan)
                tenants.append(Tenant(made.workspace.workspace_id, made.owner.user_id, made.key.key_id, made.secret))
            yield api, build_world(api, fake, tenants[0], tenants[1])
        fake.stop()
        gateway.reset()
    use_tables(moto_server, f"t{os.getpid()}-shared")


# --- valid templates: each one changes something when posted ---------------------------------------


def _topup_intent(w: World, **fields: Any) -> dict[str, Any]:
    obj = copy.deepcopy(w.pack_intent["data"]["object"])
    obj.update(
        id=new_id("pi"),
        amount=500,
        amount_received=500,
        latest_charge=new_id("ch"),
        metadata={
            "kind": "auto_topup",
            "workspace_id": w.tenant.workspace_id,
            "credits": "500",
            "period": period_of(clock.now()),
        },
        **fields,
    )
    return obj


def _sub_checkout(w: World) -> dict[str, Any]:
    """A paid starter checkout of the free workspace (it has no subscription yet)."""
    obj = copy.deepcopy(w.sub_checkout["data"]["object"])
    obj.update(
        id=new_id("cs_test"),
        subscription=new_id("sub"),
        invoice=new_id("in"),
        customer=new_id("cus"),
        client_reference_id=w.free.workspace_id,
        metadata={**obj["metadata"], "workspace_id": w.free.workspace_id},
    )
    return obj


def _first_invoice(w: World) -> dict[str, Any]:
    """The paid first invoice of a new subscription of the free workspace: grants starter's allowance."""
    obj = copy.deepcopy(w.invoice)
    sub = new_id("sub")
    obj.update(
        id=new_id("in"),
        subscription=sub,
        customer=new_id("cus"),
        metadata={},
        parent={
            "type": "subscription_details",
            "subscription_details": {"subscription": sub, "metadata": {"workspace_id": w.free.workspace_id}},
        },
    )
    return obj


TEMPLATES: dict[str, Callable[[World], tuple[str, dict[str, Any], int]]] = {
    "checkout_pack": lambda w: (
        "checkout.session.completed",
        {**copy.deepcopy(w.pack_checkout["data"]["object"]), "id": new_id("cs_test"), "payment_intent": new_id("pi")},
        0,
    ),
    "intent_pack": lambda w: (
        "payment_intent.succeeded",
        {**copy.deepcopy(w.pack_intent["data"]["object"]), "id": new_id("pi")},
        0,
    ),
    "intent_topup": lambda w: ("payment_intent.succeeded", _topup_intent(w), 0),
    "intent_failed": lambda w: ("payment_intent.payment_failed", _topup_intent(w, status="requires_payment_method"), 0),
    "sub_created": lambda w: ("customer.subscription.created", {**copy.deepcopy(w.subscription), "id": new_id("sub")}, 0),
    "sub_updated": lambda w: (
        "customer.subscription.updated",
        {**copy.deepcopy(w.subscription), "cancel_at_period_end": True},
        w.subscription["created"] + 60,
    ),
    "sub_deleted": lambda w: (
        "customer.subscription.deleted",
        {**copy.deepcopy(w.subscription), "status": "canceled"},
        w.subscription["created"] + 60,
    ),
    "checkout_sub": lambda w: ("checkout.session.completed", _sub_checkout(w), 0),
    "invoice_paid": lambda w: ("invoice.paid", _first_invoice(w), 0),
    "invoice_failed": lambda w: (
        "invoice.payment_failed",
        {**copy.deepcopy(w.invoice), "id": new_id("in"), "status": "open", "billing_reason": "subscription_cycle"},
        0,
    ),
    "refund": lambda w: (
        "charge.refunded",
        {
            "object": "charge",
            "id": w.pack_intent["data"]["object"]["latest_charge"],
            "amount": 4500,
            "amount_refunded": 900,
            "currency": "usd",
            "payment_intent": w.pack_intent["data"]["object"]["id"],
            "metadata": {},
        },
        0,
    ),
    "dispute": lambda w: (
        "charge.dispute.created",
        stripe_object(
            "dispute",
            id=new_id("dp"),
            amount=900,
            currency="usd",
            charge=w.pack_intent["data"]["object"]["latest_charge"],
            payment_intent=w.pack_intent["data"]["object"]["id"],
        ),
        0,
    ),
}


def build(kind: str, w: World, mutate: Mutation | None = None) -> dict[str, Any]:
    event_type, obj, created = TEMPLATES[kind](w)
    event = event_for(event_type, obj, created=created or None)
    if mutate is not None:
        mutate(event, w)
    return event


def test_a_failed_payment_that_is_no_auto_top_up_is_ignored_and_changes_nothing(api, fake, make_tenant):
    """A pack's card declined at checkout: Stripe says payment_failed; only auto top-ups act on it."""
    w = build_world(api, fake, make_tenant(plan="free"), make_tenant(plan="free"))
    _, obj, _ = TEMPLATES["intent_pack"](w)
    before = snapshot()
    status, body = post(api, event_for("payment_intent.payment_failed", {**obj, "status": "requires_payment_method"}))
    assert (status, body["outcome"]) == (200, "ignored"), body
    assert snapshot() == before


def test_a_subscription_keeps_its_period_end(api, fake, make_tenant):
    """What the admin page shows as "renews on", and what the past-due grace is counted from."""
    from chalicelib.store.models import SubscriptionModel

    w = build_world(api, fake, make_tenant(plan="free"), make_tenant(plan="free"))
    rows = [r for r in SubscriptionModel.scan() if r.workspace_id == w.tenant.workspace_id]
    expected = w.subscription["items"]["data"][0]["current_period_end"]
    assert rows and {int(r.current_period_end) for r in rows} == {expected}


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_each_valid_template_changes_something(api, fake, make_tenant, kind):
    """The control group: on a fresh world, the unmutated event is applied and changes rows."""
    w = build_world(api, fake, make_tenant(plan="free"), make_tenant(plan="free"))
    before = snapshot()
    status, body = post(api, build(kind, w))
    assert status == 200 and body["outcome"] in ("applied", "ignored"), body
    assert snapshot() != before


# --- malformed shapes, for every handled type ----------------------------------------------------


def _obj(event: dict[str, Any]) -> dict[str, Any]:
    return event["data"]["object"]


def _set(path: str, value: Any) -> Mutation:
    """Set a dotted path inside the event (`data.object.amount`); `...` deletes it."""

    def mutate(event: dict[str, Any], _w: World) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value

    return mutate


GENERIC: dict[str, Mutation] = {
    "object_is_string": _set("data.object", "sub_123"),
    "data_missing": _set("data", ...),
    "created_is_string": _set("created", "1700000000"),
    "object_id_missing": _set("data.object.id", ...),
    "object_id_is_int": _set("data.object.id", 12),
    "object_id_too_long": _set("data.object.id", "x" * 300),
}
WITH_CUSTOMER = {
    "checkout_pack",
    "intent_pack",
    "intent_topup",
    "intent_failed",
    "sub_created",
    "sub_updated",
    "sub_deleted",
    "checkout_sub",
    "invoice_paid",
    "invoice_failed",
}
WITH_METADATA = {
    "checkout_pack",
    "intent_pack",
    "intent_topup",
    "intent_failed",
    "sub_created",
    "sub_updated",
    "sub_deleted",
    "checkout_sub",
}
METADATA: dict[str, Mutation] = {
    "metadata_is_string": _set("data.object.metadata", "x"),
    "metadata_value_is_object": _set("data.object.metadata.kind", {"a": 1}),
    "metadata_bad_and_workspace_not_an_id": lambda event, w: (
        _set("data.object.metadata.kind", {"a": 1})(event, w),
        _set("data.object.metadata.workspace_id", "ws_../../other")(event, w),
    ),
}
AMOUNT_FIELD = {
    "checkout_pack": "amount_total",
    "intent_pack": "amount",
    "intent_topup": "amount",
    "intent_failed": "amount",
    "checkout_sub": "amount_total",
    "invoice_paid": "amount_paid",
    "invoice_failed": "amount_paid",
    "refund": "amount_refunded",
    "dispute": "amount",
}
BAD_AMOUNTS = {"string": "4500", "float": 4500.0, "bool": True}  # negative and huge: per type below


def _unknown_workspace(event: dict[str, Any], _w: World) -> None:
    obj = _obj(event)
    obj["customer"] = new_id("cus")
    if "client_reference_id" in obj:
        obj["client_reference_id"] = UNKNOWN_WS
    if isinstance(obj.get("metadata"), dict):
        obj["metadata"]["workspace_id"] = UNKNOWN_WS
    details = (obj.get("parent") or {}).get("subscription_details")
    if details:
        details["metadata"] = {"workspace_id": UNKNOWN_WS}


def _price(**fields: Any) -> Mutation:
    def mutate(event: dict[str, Any], _w: World) -> None:
        _obj(event)["items"]["data"][0]["price"].update(fields)

    return mutate


def _line_price(**fields: Any) -> Mutation:
    def mutate(event: dict[str, Any], _w: World) -> None:
        _obj(event)["lines"]["data"][0]["price"] = plan_price("starter", **fields)

    return mutate


def _other_customer(event: dict[str, Any], w: World) -> None:
    """The free workspace's session, paid with the paying workspace's Stripe customer."""
    obj = _obj(event)
    obj["customer"] = w.pack_checkout["data"]["object"]["customer"]
    obj["client_reference_id"] = obj["metadata"]["workspace_id"] = w.free.workspace_id


def _two_workspaces(event: dict[str, Any], w: World) -> None:
    _obj(event)["metadata"]["workspace_id"] = w.free.workspace_id


SPECIFIC: dict[str, dict[str, Mutation]] = {
    "checkout_pack": {
        "credits_negative": _set("data.object.metadata.credits", "-1000"),
        "credits_1e20": _set("data.object.metadata.credits", str(10**20)),
        "credits_not_a_number": _set("data.object.metadata.credits", "lots"),
        "unknown_pack": _set("data.object.metadata.pack", "pack_7"),
        "pack_missing": _set("data.object.metadata.pack", ...),
        "paid_less_than_the_pack": _set("data.object.amount_total", 4499),
        "amount_negative": _set("data.object.amount_total", -4500),
        "amount_huge": _set("data.object.amount_total", 10**30),
        "amount_missing": _set("data.object.amount_total", None),
        "currency_eur": _set("data.object.currency", "eur"),
        "no_payment_intent": _set("data.object.payment_intent", None),
        "customer_of_another_workspace": _other_customer,
        "two_workspaces": _two_workspaces,
    },
    "intent_pack": {
        "credits_negative": _set("data.object.metadata.credits", "-1000"),
        "credits_1e20": _set("data.object.metadata.credits", str(10**20)),
        "unknown_pack": _set("data.object.metadata.pack", "pack_1"),
        "paid_less_than_the_pack": _set("data.object.amount_received", 1000),
        "currency_eur": _set("data.object.currency", "eur"),
    },
    "intent_topup": {
        "credits_not_configured": _set("data.object.metadata.credits", "501"),
        "credits_negative": _set("data.object.metadata.credits", "-500"),
        "credits_1e20": _set("data.object.metadata.credits", str(10**20)),
        "amount_not_the_price": _set("data.object.amount", 499),
        "amount_negative": _set("data.object.amount", -500),
        "received_less": _set("data.object.amount_received", 100),
        "unknown_request": _set("data.object.metadata.topup_key", "topup:nope"),
        "workspace_without_auto_topup": lambda event, w: [
            _set("data.object.metadata.workspace_id", w.free.workspace_id)(event, w),
            _set("data.object.customer", None)(event, w),
        ],
        "currency_eur": _set("data.object.currency", "eur"),
    },
    "sub_created": {
        "no_plan_price": _set("data.object.items.data", []),
        "items_is_string": _set("data.object.items", "x"),
        "price_amount_not_catalog": _price(unit_amount=1),
        "price_currency_eur": _price(currency="eur"),
        "price_interval_mismatch": _price(recurring={"interval": "year"}),
        "status_missing": _set("data.object.status", ...),
    },
    "sub_updated": {
        "no_plan_price": _set("data.object.items.data", []),
        "price_amount_not_catalog": _price(unit_amount=1),
        "cancel_flag_is_string": _set("data.object.cancel_at_period_end", "yes"),
        "period_end_is_string": _set("data.object.items.data.0.current_period_end", "soon"),
    },
    "sub_deleted": {
        "items_is_string": _set("data.object.items", "x"),
        "status_is_int": _set("data.object.status", 3),
    },
    "checkout_sub": {
        "unknown_plan": _set("data.object.metadata.plan", "gold"),
        "unknown_interval": _set("data.object.metadata.interval", "week"),
        "paid_less_than_the_plan": _set("data.object.amount_total", 1899),
        "currency_eur": _set("data.object.currency", "eur"),
        "two_workspaces": lambda e, w: _obj(e).update(client_reference_id=w.tenant.workspace_id),
    },
    "invoice_paid": {
        "line_price_not_catalog": _line_price(unit_amount=5),
        "line_price_eur": _line_price(currency="eur"),
        "lines_is_string": _set("data.object.lines", "x"),
        "parent_is_string": _set("data.object.parent", "x"),
        "currency_eur": _set("data.object.currency", "eur"),
    },
    "invoice_failed": {
        "parent_is_string": _set("data.object.parent", "x"),
        "subscription_is_int": _set("data.object.subscription", 7),
    },
    "refund": {
        "refunded_more_than_the_charge": _set("data.object.amount_refunded", 4501),
        "refunded_negative": _set("data.object.amount_refunded", -1),
        "refunded_huge": _set("data.object.amount_refunded", 10**30),
        "currency_eur": _set("data.object.currency", "eur"),
        "amount_missing": _set("data.object.amount", ...),
    },
    "dispute": {
        "amount_negative": _set("data.object.amount", -900),
        "currency_eur": _set("data.object.currency", "eur"),
        "charge_is_int": _set("data.object.charge", 5),
    },
}
UNKNOWN_WORKSPACE = {
    "checkout_pack",
    "intent_pack",
    "intent_topup",
    "intent_failed",
    "sub_created",
    "sub_updated",
    "sub_deleted",
    "checkout_sub",
    "invoice_paid",
    "invoice_failed",
}


def _cases() -> list[Any]:
    cases = []
    for kind in TEMPLATES:
        mutations = dict(GENERIC)
        if kind in WITH_METADATA:
            mutations.update(METADATA)
        if kind in WITH_CUSTOMER:
            mutations["customer_is_object"] = _set("data.object.customer", {"id": "cus_1"})
        if kind in AMOUNT_FIELD:
            mutations.update(
                {f"amount_{name}": _set(f"data.object.{AMOUNT_FIELD[kind]}", value) for name, value in BAD_AMOUNTS.items()}
            )
        if kind in UNKNOWN_WORKSPACE:
            mutations["unknown_workspace"] = _unknown_workspace
        mutations.update(SPECIFIC.get(kind, {}))
        cases += [pytest.param(kind, mutate, id=f"{kind}-{name}") for name, mutate in mutations.items()]
    return cases


# What some rejections must say (the reason Stripe's dashboard and the admin list show), by case id.
REASONS = {
    "intent_topup-workspace_without_auto_topup": "auto top-up payment for a workspace without auto top-up",
    "intent_pack-currency_eur": "the payment is in 'eur', not usd: the catalog has no such price",
}


# The field some rejections name (the admin's list of rejected events shows it), by case id; every
# other rejection names some field, except those about whose money it is.
FIELDS = {
    "checkout_sub-unknown_plan": "metadata.plan",
    "checkout_sub-unknown_interval": "metadata.plan",
    "sub_created-no_plan_price": "data.object.items",
    "sub_updated-no_plan_price": "data.object.items",
    "intent_topup-workspace_without_auto_topup": "metadata.kind",
    "intent_pack-currency_eur": "currency",
}
WHO_IS_PAYING = ("unknown_workspace", "customer_of_another_workspace", "two_workspaces")


@pytest.mark.parametrize(("kind", "mutate"), _cases())
def test_malformed_signed_events_are_acknowledged_rejected_and_change_nothing(matrix, kind, mutate, request, golden):
    api, w = matrix
    event = build(kind, w, mutate)
    before = snapshot(rejected=True)
    status, body = post(api, event)
    assert status == 200, body
    assert body == {"received": True, "outcome": "rejected", "reason": body.get("reason")} and body["reason"], body
    case = request.node.callspec.id
    assert body["reason"] == REASONS.get(case, body["reason"]), case
    if case.endswith("_eur"):  # every currency refusal names the currency it got and ours
        assert "eur" in body["reason"] and "usd" in body["reason"], body
    fields = {row.field for row in rejected_rows(event["id"])}
    if case.endswith(WHO_IS_PAYING):
        assert fields == {None}, case  # no one field is wrong: the event names the wrong workspace
    else:
        assert fields == {FIELDS.get(case, next(iter(fields)))} and None not in fields, (case, fields)
    after = snapshot(rejected=True)
    added = sorted(set(after.pop("rejected_events")) - set(before.pop("rejected_events")))
    assert after == before  # every other table, row for row
    assert [json.loads(row)["partition"]["S"] for row in added] == ["stripe", f"stripe_event:{event['id']}"]
    named = _metadata_workspace(event)  # the list names a workspace only by a real workspace id
    expected = named if isinstance(named, str) and ids.is_id(named, "ws") else None
    assert {row.workspace_id for row in rejected_rows(event["id"])} == {expected}, named
    golden.check({"reason": body["reason"], "field": sorted(map(str, fields))})  # each case's exact words


def _metadata_workspace(event: dict[str, Any]) -> Any:
    obj = event.get("data", {}).get("object") if isinstance(event.get("data"), dict) else None
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata.get("workspace_id") if isinstance(metadata, dict) else None


# --- bodies that are not events, sizes, signatures, timestamps ------------------------------------


def _raw(api: Any, body: bytes | str, header: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    response = api.http.post("/webhooks/stripe", headers=headers, body=body)
    return response.status_code, json.loads(response.body), dict(response.headers)


def _signed(payload: str, **kw: Any) -> tuple[str, str]:
    return payload, sign(payload, **kw)


def _deep(levels: int) -> str:
    return '{"id": "evt_1", "type": "invoice.paid", "data": ' + "[" * levels + "]" * levels + "}"


NOT_EVENTS: dict[str, Callable[[str], tuple[str, str | None]]] = {
    "array": lambda good: _signed(f"[{good}]"),
    "string": lambda good: _signed(json.dumps(good)),
    "null": lambda good: _signed("null"),
    "number": lambda good: _signed("42"),
    "empty_object": lambda good: _signed("{}"),
    "id_not_string": lambda good: _signed(json.dumps({**json.loads(good), "id": 5})),
    "type_missing": lambda good: _signed(json.dumps({k: v for k, v in json.loads(good).items() if k != "type"})),
    "id_too_long": lambda good: _signed(json.dumps({**json.loads(good), "id": "evt_" + "x" * 300})),
    "invalid_json": lambda good: _signed(good[:-1]),
    "whitespace": lambda good: _signed("   "),
    "nested_100k_levels": lambda good: _signed(_deep(100_000)),
    "stale_timestamp": lambda good: _signed(good, timestamp=int(time.time()) - 3600),
    "future_timestamp": lambda good: _signed(good, timestamp=int(time.time()) + 3600),
    "far_future_timestamp": lambda good: _signed(good, timestamp=int(time.time()) + 10 * 365 * 86_400),
    "wrong_secret": lambda good: _signed(good, secret="whsec_someone_else"),
    "missing_header": lambda good: (good, None),
    "empty_header": lambda good: (good, ""),
    "garbage_header": lambda good: (good, "t=abc,v1=zzz"),
    "no_v1": lambda good: (good, sign(good).split(",")[0]),
    "altered_body": lambda good: (good.replace('"5000"', '"9999999"'), sign(good)),
}


@pytest.mark.parametrize("case", list(NOT_EVENTS))
def test_bodies_that_are_not_fresh_signed_events_are_400_and_change_nothing(matrix, case, golden):
    api, w = matrix
    good = json.dumps(build("checkout_pack", w))  # would grant 5,000 credits if accepted
    body, header = NOT_EVENTS[case](good)
    before = snapshot(rejected=True)
    status, answer, headers = _raw(api, body, header)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_request" and answer["error"]["message"]
    assert answer["error"]["request_id"] and headers.get("X-Request-Id") == answer["error"]["request_id"]
    assert snapshot(rejected=True) == before
    golden.check(answer)


def test_oversize_body_is_413_before_verification(matrix, monkeypatch):
    api, w = matrix
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    reset_settings()
    try:
        event = build("checkout_pack", w)
        event["padding"] = "x" * 4096
        payload = json.dumps(event)
        before = snapshot(rejected=True)
        for header in (sign(payload), "t=1,v1=bad"):  # signed or not: the size is checked first
            status, answer, _ = _raw(api, payload, header)
            assert status == 413 and answer["error"]["code"] == "payload_too_large", answer
        assert snapshot(rejected=True) == before
    finally:
        monkeypatch.delenv("MAX_BODY_BYTES")
        reset_settings()


def test_a_timestamp_within_the_tolerance_either_way_is_accepted(matrix):
    """Clock skew of a minute is normal: only beyond 5 minutes, past or future, is it refused."""
    api, _ = matrix
    for skew in (-200, 200):
        event = event_for("customer.tax_id.created", stripe_object("customer", id=new_id("cus")))
        payload = json.dumps(event)
        status, answer, _ = _raw(api, payload, sign(payload, timestamp=int(time.time()) + skew))
        assert status == 200 and answer["outcome"] == "ignored", (skew, answer)


def test_the_tolerance_ends_exactly_five_minutes_ahead(matrix, monkeypatch):
    """At a frozen second, a signature 300 s ahead is still accepted and 301 s ahead is not."""
    from chalicelib.billing import webhook

    api, _ = matrix
    now = int(time.time())
    monkeypatch.setattr(webhook, "time", SimpleNamespace(time=lambda: float(now)))  # this module's clock only
    for skew, expected in ((webhook.TOLERANCE_S, 200), (webhook.TOLERANCE_S + 1, 400)):
        event = event_for("customer.tax_id.created", stripe_object("customer", id=new_id("cus")))
        payload = json.dumps(event)
        status, answer, _ = _raw(api, payload, sign(payload, timestamp=now + skew))
        assert status == expected, (skew, answer)


def test_a_rejected_event_replayed_5_times_is_recorded_once(matrix):
    api, w = matrix
    event = build("checkout_pack", w, _set("data.object.metadata.credits", "-1000"))
    before = snapshot()
    for _ in range(5):
        status, body = post(api, event)
        assert status == 200 and body["outcome"] == "rejected"
    assert len(rejected_rows(event["id"])) == 2
    assert snapshot() == before


def test_admins_list_rejected_events_newest_first(api, fake, make_tenant, admin):
    t = make_tenant(plan="free")
    events = [
        build_event
        for build_event in (
            event_for(
                "payment_intent.succeeded",
                stripe_object(
                    "payment_intent",
                    id=new_id("pi"),
                    amount=1000,
                    currency="usd",
                    customer=None,
                    metadata={"kind": "credit_pack", "pack": "pack_1000", "credits": str(10**20), "workspace_id": t.workspace_id},
                ),
            ),
            event_for("charge.refunded", {"object": "charge", "id": new_id("ch"), "amount": "1000"}),
            event_for(
                "customer.subscription.updated",
                {"id": new_id("sub"), "status": "active", "metadata": {"workspace_id": UNKNOWN_WS}, "items": {"data": []}},
            ),
        )
    ]
    for event in events:
        assert post(api, event)[1]["outcome"] == "rejected"
    status, page, _ = call(api, "GET", "/admin/api/billing/rejected-events?limit=2", admin)
    assert status == 200, page
    assert [r["event_id"] for r in page["data"]] == [events[2]["id"], events[1]["id"]]
    assert page["data"][0]["event_type"] == "customer.subscription.updated" and page["data"][0]["reason"]
    assert page["data"][1]["field"] == "data.object.amount" and page["next_cursor"]
    status, rest, _ = call(api, "GET", f"/admin/api/billing/rejected-events?limit=100&cursor={page['next_cursor']}", admin)
    assert status == 200 and rest["data"][0]["event_id"] == events[0]["id"]
    assert rest["data"][0]["workspace_id"] == t.workspace_id and "metadata.credits" in rest["data"][0]["reason"]
    assert call(api, "GET", "/admin/api/billing/rejected-events", t)[0] == 403
    status, err, _ = call(api, "GET", "/admin/api/billing/rejected-events?cursor=eyJhIjoxfQ", admin)
    assert status == 400 and err["error"]["code"] == "invalid_request"
