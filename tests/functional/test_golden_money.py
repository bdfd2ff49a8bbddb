"""Whole money scenarios, recorded: every answer they get and every row they leave.

Each test runs a customer's story on its own tables with a frozen clock and ids made in order
(`deterministic`), then compares what it saw with its reviewed record in
`tests/golden/test_golden_money.json` (tests/golden.py). The other tests say what must hold (the
balance, conservation, once-only); these catch what none of them names: a rejection's reason, a
ledger entry's details, a counter's expiry, a marker's note, a request sent to Stripe. After a
meant change: `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/functional/test_golden_money.py`
and review the diff of the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import clock, tasks
from chalicelib.accounting.ledger import adjust, reconcile_wallet
from chalicelib.aws import client, queue_url
from chalicelib.billing.topup import run_topup
from chalicelib.generation.worker import handle_dead_letters
from chalicelib.settings import get_settings
from chalicelib.store.models import WorkspaceModel
from chalicelib.tenancy import create_workspace
from tests.conftest import Tenant
from tests.functional.accounting_helpers import UNLIMITED
from tests.functional.billing_helpers import buy_pack, plan_items, post, subscribe
from tests.functional.helpers import app_client, call, event_from, receive, run_worker
from tests.functional.test_billing_paths import _dispute, _refund, _sub_event
from tests.functional.test_topup_statements import hook  # noqa: F401 - the statement receiver (a fixture)
from tests.golden import table_rows

HEADERS = ("ratelimit", "retry-after")


class Story:
    """The answers of one scenario, in order."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.steps: list[Any] = []

    def ask(
        self, method: str, path: str, tenant: Any, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        status, data, headers = call(self.api, method, path, tenant, body, headers=headers)
        shown = {k: v for k, v in sorted(headers.items()) if k.lower().startswith(HEADERS)}
        self.steps.append({"ask": f"{method} {path}", "sent": body, "status": status, "body": data, "headers": shown})
        return status, data

    def stripe(self, event: dict[str, Any]) -> str:
        status, body = post(self.api, event)
        self.steps.append({"stripe": event["type"], "status": status, "body": body})
        return str(body.get("outcome"))

    def note(self, what: str, value: Any) -> Any:
        self.steps.append({what: value})
        return value


@pytest.fixture()
def story(fresh_aws: Any, fake: Any, deterministic: Any) -> Iterator[Story]:
    with app_client() as api:
        yield Story(api)


def _work() -> int:
    """The worker over the queue one message at a time: a batch runs its records in threads, and
    the ids they make would come in any order."""
    done = 0
    while messages := receive(max_messages=1):
        assert _run_and_delete(messages) == {"batchItemFailures": []}
        done += 1
    return done


def _run_and_delete(messages: list[dict[str, Any]]) -> dict[str, Any]:
    result = run_worker(messages)
    client("sqs").delete_message(QueueUrl=queue_url(get_settings().jobs_queue_name), ReceiptHandle=messages[0]["ReceiptHandle"])
    return result


def _workspace(name: str, plan: str, limits: dict[str, Any] | None = None, *, is_admin: bool = False) -> Tenant:
    made = create_workspace(name, f"{name.lower()}@example.test", plan, is_admin=is_admin)
    if limits:
        WorkspaceModel(made.workspace.workspace_id).update(actions=[WorkspaceModel.limits.set(limits)])
    return Tenant(made.workspace.workspace_id, made.owner.user_id, made.key.key_id, made.secret)


def _record(golden: Any, story: Story, fake: Any = None) -> None:
    record: dict[str, Any] = {"steps": story.steps, "rows": table_rows()}
    if fake is not None:  # what we asked Stripe for, in order
        record["stripe_requests"] = [list(r) for r in fake.requests]
    golden.check(json.loads(json.dumps(record, default=str)))


def test_jobs_limits_and_the_scheduled_tasks(story, golden, deterministic):
    """Admission (each refusal), settlement, a failed and a cancelled job, the stale-hold sweeper
    and a late delivery, reconcile and the month's rollover run twice."""
    owner = _workspace("Jobs", "starter")
    tight = _workspace("Tight", "free", {**UNLIMITED, "credits_per_day": 3})
    busy = _workspace("Busy", "free", {**UNLIMITED, "requests_per_minute_workspace": 2})
    story.ask("POST", "/v1/jobs", owner, {"prompt": "a red fox in snow", "n": 2, "size": "512x512"})
    story.note("worker", _work())
    story.ask("POST", "/v1/jobs", owner, {"prompt": "[fail:always] a broken lens"})
    story.note("worker", _work())
    _, queued = story.ask("POST", "/v1/jobs", owner, {"prompt": "cancel me", "n": 3})
    story.ask("POST", f"/v1/jobs/{queued['job']['id']}/cancel", owner)
    story.note("worker", _work())

    deterministic.advance(seconds=5)
    story.ask("POST", "/v1/jobs", tight, {"prompt": "two of three", "n": 2, "size": "512x512"})
    story.ask("POST", "/v1/jobs", tight, {"prompt": "over the day's credits", "n": 2, "size": "512x512"})
    story.ask("POST", "/v1/jobs", tight, {"prompt": "the last credit of the day", "size": "512x512"})
    story.ask("POST", "/v1/jobs", busy, {"prompt": "first of the minute", "size": "512x512"})
    story.ask("POST", "/v1/jobs", busy, {"prompt": "second of the minute", "size": "512x512"})
    story.ask("POST", "/v1/jobs", busy, {"prompt": "third of the minute", "size": "512x512"})
    for scope in ("user", "key"):  # each scope's own window, refused in its own words
        limited = _workspace(f"By{scope}", "free", {**UNLIMITED, f"requests_per_minute_{scope}": 1})
        for n in (1, 2):
            story.ask("POST", "/v1/jobs", limited, {"prompt": f"{scope} request {n}", "size": "512x512"})
    story.note("worker", _work())
    deterministic.advance(seconds=125)  # past the sliding window
    spent = -int(story.ask("GET", "/v1/balance", busy)[1]["available"])
    adjust(busy.workspace_id, spent, reason="spent", actor="test", now=clock.now())
    story.ask("POST", "/v1/jobs", busy, {"prompt": "nothing left", "size": "512x512"})
    story.ask("POST", "/v1/jobs", tight, {"prompt": "over the day's credits still", "size": "512x512"})

    _, left = story.ask("POST", "/v1/jobs", owner, {"prompt": "left behind by every worker"})
    late = receive()
    deterministic.advance(hours=2)
    story.note("release_stale_holds", tasks.release_stale_holds())
    story.note("late delivery", run_worker(late))
    story.ask("GET", f"/v1/jobs/{left['job']['id']}", owner)
    story.note("reconcile", tasks.reconcile())

    for tenant in (owner, tight, busy):
        story.ask("GET", "/v1/balance", tenant)
        story.ask("GET", "/v1/ledger", tenant)
        story.ask("GET", "/v1/jobs", tenant)
    deterministic.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    story.note("monthly_reset", tasks.monthly_reset())
    story.note("monthly_reset again", tasks.monthly_reset())
    story.ask("GET", "/v1/balance", owner)
    _record(golden, story)


def test_packs_refunds_disputes_and_admin_grants(story, golden, fake):
    """A pack bought through checkout (both of Stripe's paths, and replays), refunded in part,
    disputed for the rest; another pack; an operator's grant and deduction; bad checkouts."""
    buyer = _workspace("Buyer", "free")
    admin = _workspace("Operator", "enterprise", is_admin=True)
    for bad in ({"kind": "credit_pack", "pack": "pack_7"}, {"kind": "subscription", "plan": "gold"}, {"kind": "gift"}):
        story.ask("POST", "/v1/billing/checkout", buyer, bad)
    for event in buy_pack(story.api, fake, buyer, "pack_5000"):
        story.stripe(event)
        story.stripe(event)
    intent = next(i for i in fake.intents.values() if i["metadata"].get("workspace_id") == buyer.workspace_id)
    story.stripe(_refund(fake, intent, 900))
    story.stripe(_dispute(intent, 3_600))
    story.stripe(_refund(fake, intent, 900))
    for event in buy_pack(story.api, fake, buyer, "pack_1000"):
        story.stripe(event)
    story.ask("POST", f"/admin/api/workspaces/{buyer.workspace_id}/credits", admin, {"amount": 250, "reason": "goodwill"})
    story.ask("POST", f"/admin/api/workspaces/{buyer.workspace_id}/credits", admin, {"amount": -100, "reason": "correction"})
    story.ask("GET", "/v1/balance", buyer)
    story.ask("GET", "/v1/ledger", buyer)
    story.note("reconcile", reconcile_wallet(buyer.workspace_id).ok)
    _record(golden, story, fake)


def test_a_subscription_from_checkout_to_deletion(story, golden, fake, deterministic):
    """Subscribe, upgrade by an update, a failed renewal, cancel; the next months' allowances."""
    member = _workspace("Subscriber", "free")
    events = subscribe(story.api, fake, member, "starter")
    for event in events:
        story.stripe(event)
    sub = events[0]["data"]["object"]
    story.ask("POST", "/v1/billing/checkout", member, {"kind": "subscription", "plan": "pro"})  # one per workspace
    story.stripe(_sub_event("updated", sub, sub["created"] + 10, items=plan_items("pro")))
    story.ask("GET", "/v1/balance", member)
    deterministic.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    story.note("monthly_reset", tasks.monthly_reset())
    story.stripe(_sub_event("updated", sub, sub["created"] + 20, items=plan_items("pro"), status="past_due"))
    story.stripe(_sub_event("deleted", sub, sub["created"] + 30, items=plan_items("pro"), status="canceled"))
    story.ask("GET", "/v1/balance", member)
    deterministic.set(datetime(2027, 1, 1, 0, 5, tzinfo=UTC))
    story.note("monthly_reset", tasks.monthly_reset())
    story.ask("GET", "/v1/balance", member)
    story.ask("GET", "/v1/ledger", member)
    _record(golden, story, fake)


def test_auto_topup_from_configuration_to_three_declines(story, golden, fake, deterministic):
    """Configure (and refuse bad settings), a top-up bought and granted, a duplicate, then a card
    that declines three times: disabled, audited, the owner told."""
    payer = _workspace("Payer", "free", UNLIMITED)
    for event in buy_pack(story.api, fake, payer):
        story.stripe(event)
    story.ask("PUT", "/v1/billing/auto-topup", payer, {"enabled": True, "threshold": 100, "amount": 5, "monthly_cap": 1})
    story.ask("PUT", "/v1/billing/auto-topup", payer, {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 1000})
    story.note("at the threshold", run_topup(payer.workspace_id))
    adjust(payer.workspace_id, 60 - 1_000 - 50, reason="spent", actor="test", now=clock.now())
    seen = len(fake.delivered)
    story.note("below it", run_topup(payer.workspace_id))
    story.note("again while in flight", run_topup(payer.workspace_id))
    for event in fake.delivered[seen:]:
        story.stripe(event)
        story.stripe(event)
    fake.declining.add(next(iter(fake.customers)))
    deterministic.advance(minutes=1)
    adjust(payer.workspace_id, -560, reason="spent", actor="test", now=clock.now())
    for attempt in range(4):
        seen = len(fake.delivered)
        story.note(f"declined {attempt}", run_topup(payer.workspace_id))
        for event in fake.delivered[seen:]:
            story.stripe(event)
        deterministic.advance(minutes=1)
    story.ask("GET", "/v1/balance", payer)
    story.ask("GET", "/v1/ledger", payer)
    _record(golden, story, fake)


def test_the_worker_through_crashes_retries_blocks_and_dead_letters(story, golden, deterministic):
    """A crash between the provider and settlement then its redelivery, transient provider errors
    retried, a safety block, the same message twice, and a job dead-lettered."""
    owner = _workspace("Worker", "starter", UNLIMITED)
    _, crashed = story.ask("POST", "/v1/jobs", owner, {"prompt": "[crash:before_settle] a fox", "n": 1, "size": "512x512"})
    messages = receive()
    story.note("crash", run_worker(messages))
    deterministic.advance(seconds=30)
    story.note("redelivery", run_worker(messages))
    story.note("once more", run_worker(messages))
    story.ask("POST", "/v1/jobs", owner, {"prompt": "[fail:transient] flaky", "n": 2, "size": "512x512"})
    story.note("transient", _work())
    story.ask("POST", "/v1/jobs", owner, {"prompt": "a kite [fail:safety]", "size": "512x512"})
    story.note("safety", _work())
    _, doomed = story.ask("POST", "/v1/jobs", owner, {"prompt": "doomed", "n": 2, "size": "512x512"})
    dead = receive()
    event = {"Records": [{**record, "eventSourceARN": "arn:aws:sqs:us-east-1:1:dlq"} for record in event_from(dead)["Records"]]}
    story.note("dead letter", handle_dead_letters(event, None))
    story.note("dead letter again", handle_dead_letters(event, None))
    for job in (crashed, doomed):
        story.ask("GET", f"/v1/jobs/{job['job']['id']}", owner)
    story.ask("GET", "/v1/balance", owner)
    story.ask("GET", "/v1/ledger", owner)
    _record(golden, story)


@pytest.mark.usefixtures("hook")
def test_an_invoiced_month_and_its_statement(story, golden, deterministic):
    """An invoiced workspace's month: jobs, then the rollover writes and signs its statement once."""
    from tests.functional.test_topup_statements import _Receiver

    deterministic.set(datetime(2026, 10, 20, 9, 30, tzinfo=UTC))
    admin = _workspace("Operator", "enterprise", is_admin=True)
    invoiced = _workspace("Invoiced", "enterprise", UNLIMITED)
    internal = {"provider": "internal", "reason": "invoiced"}
    story.ask("PUT", f"/admin/api/workspaces/{invoiced.workspace_id}/billing", admin, internal)
    for n in (1, 3):
        story.ask("POST", "/v1/jobs", invoiced, {"prompt": f"october {n}", "n": n, "size": "512x512"})
        story.note("worker", _work())
    deterministic.set(datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    story.ask("POST", "/admin/api/scheduled/monthly_reset/run", admin)
    story.ask("POST", "/admin/api/scheduled/monthly_reset/run", admin)
    for headers, payload in _Receiver.received:
        story.note("content-type", headers.get("content-type"))
        data = json.loads(payload)["data"]
        story.note("statement", data)
        csv = client("s3").get_object(Bucket=get_settings().images_bucket, Key=data["s3_key"])["Body"].read()
        rows = [line.split(",") for line in csv.decode().splitlines()]
        story.note("csv", [row[:-1] + ["<ms>"] if row[-1].isdigit() else row for row in rows])  # provider_ms: wall clock
    _record(golden, story)


def test_spend_caps_of_keys_and_members(story, golden):
    """A key's daily and monthly caps and a member's monthly cap refuse with their own names and
    numbers; a failed job gives its credits back to the cap."""
    from chalicelib.store.models import MembershipModel

    owner = _workspace("Caps", "pro", UNLIMITED)
    keys = {}
    for name, caps in (("daily", {"credits_per_day": 3}), ("monthly", {"credits_per_month": 1})):
        _, made = story.ask("POST", "/v1/keys", owner, {"name": name, **caps})
        keys[name] = {"Authorization": f"Bearer {made['secret']}"}
    story.ask("POST", "/v1/jobs", None, {"prompt": "[fail:always] no", "n": 2, "size": "512x512"}, keys["daily"])
    story.ask("POST", "/v1/jobs", None, {"prompt": "one", "size": "512x512"}, keys["daily"])
    story.ask("POST", "/v1/jobs", None, {"prompt": "over the day", "size": "512x512"}, keys["daily"])
    story.note("worker", _work())
    story.ask("POST", "/v1/jobs", None, {"prompt": "again", "n": 2, "size": "512x512"}, keys["daily"])
    story.ask("POST", "/v1/jobs", None, {"prompt": "one", "size": "512x512"}, keys["monthly"])
    story.ask("POST", "/v1/jobs", None, {"prompt": "over the month", "size": "512x512"}, keys["monthly"])
    # The owner's keys spent 4 of the member's credits this month: one left.
    MembershipModel(owner.workspace_id, owner.user_id).update(actions=[MembershipModel.credits_per_month.set(5)])
    story.ask("POST", "/v1/jobs", owner, {"prompt": "the member's fifth credit", "size": "512x512"})
    story.ask("POST", "/v1/jobs", owner, {"prompt": "over the member's month", "size": "512x512"})
    story.note("worker", _work())
    story.ask("GET", "/v1/balance", owner)
    _record(golden, story)
