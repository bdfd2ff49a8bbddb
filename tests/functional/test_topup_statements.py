"""Auto top-up (queued after a charging settlement's event, capped, once per cycle, off after 3 failures) and the
internal-billing statements (CSV in S3 + a Standard Webhooks signed event)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

import app as chalice_app
from chalicelib import clock, secrets
from chalicelib.accounting.ledger import adjust, get_wallet, reconcile_wallet
from chalicelib.aws import client, queue_url
from chalicelib.billing.topup import CLAIM_LIVE_S, run_topup
from chalicelib.local.lambda_events import LocalContext
from chalicelib.settings import get_settings
from chalicelib.store.models import AuditModel, TopupModel
from tests.functional.accounting_helpers import UNLIMITED
from tests.functional.billing_helpers import buy_pack, post, topup_ready
from tests.functional.helpers import call, drain, event_from, get_items_of, purge
from tests.functional.webhook_helpers import as_sqs, bodies, drain_webhooks, run_webhooks_worker, webhook_messages


def billing_messages() -> list[dict[str, Any]]:
    sqs = client("sqs")
    url = queue_url(get_settings().billing_queue_name)
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return out
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
        out.extend(batch)


def run_billing_worker(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return chalice_app.billing_worker(event_from(messages, get_settings().billing_queue_name), LocalContext("billing_worker", 60))


def deliver_all(api: Any, fake: Any, since: int) -> list[str]:
    """Post what the fake Stripe sent after `since` to the webhook, as Stripe would."""
    return [post(api, e)[1]["outcome"] for e in fake.delivered[since:]]


def configured(api: Any, tenant: Any, **values: Any) -> dict[str, Any]:
    body = {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 1000, **values}
    status, answer, _ = call(api, "PUT", "/v1/billing/auto-topup", tenant, body)
    assert status == 200, answer
    return answer["auto_topup"]


def spend_to(api: Any, tenant: Any, available: int, *, events: bool = True) -> None:
    """Bring the wallet to `available` with an adjustment, then run one job (a settlement) and,
    unless `events` is False, the webhooks worker over its job.succeeded event."""
    now = clock.now()
    current = int(get_wallet(tenant.workspace_id).available)
    adjust(tenant.workspace_id, available + 1 - current, reason="set up", actor="test", now=now)
    purge()
    webhook_messages()
    assert call(api, "POST", "/v1/jobs", tenant, {"prompt": "spend one"})[0] == 202
    drain()
    if events:
        drain_webhooks()


def test_auto_topup_validation(api, fake, make_tenant):
    t = make_tenant()
    for bad in (
        {"enabled": True},
        {"enabled": "yes", "threshold": 1, "amount": 1, "monthly_cap": 1},
        {"enabled": True, "threshold": -1, "amount": 1, "monthly_cap": 1},
        {"enabled": True, "threshold": 1, "amount": 0, "monthly_cap": 1},
        {"enabled": True, "threshold": 1, "amount": 10, "monthly_cap": 5},
        {"enabled": True, "threshold": 1.5, "amount": 1, "monthly_cap": 1},
    ):
        status, err, _ = call(api, "PUT", "/v1/billing/auto-topup", t, bad)
        assert status == 400 and err["error"]["code"] == "invalid_request", bad
    view = configured(api, t)
    assert view["enabled"] is True and view["threshold"] == 100
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["auto_topup"]["monthly_cap"] == 1000


def test_topup_is_queued_after_settlement_and_credits_arrive_once(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    buy_pack(api, fake, t)  # saves the customer (and a payment method) on the workspace
    deliver_all(api, fake, 0)
    configured(api, t)
    billing_messages()
    spend_to(api, t, 60)  # below the threshold of 100 after the job's charge
    messages = billing_messages()
    assert len(messages) == 1 and json.loads(messages[0]["Body"])["workspace_id"] == t.workspace_id
    seen = len(fake.delivered)
    assert run_billing_worker(messages) == {"batchItemFailures": []}
    pi_requests = [r for r in fake.requests if r[1] == "/v1/payment_intents"]
    assert pi_requests[-1][2]["off_session"] == "true" and pi_requests[-1][2]["metadata"]["kind"] == "auto_topup"
    outcomes = deliver_all(api, fake, seen)
    assert outcomes == ["applied"]
    assert deliver_all(api, fake, seen) == ["duplicate"]
    assert get_wallet(t.workspace_id).available == 60 + 500
    state = TopupModel.get(t.workspace_id)
    assert state.granted_this_period == 500 and state.pending_payment_intent is None
    assert reconcile_wallet(t.workspace_id).ok


def test_the_check_runs_on_the_job_event_and_a_duplicate_event_still_pays_once(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    buy_pack(api, fake, t)
    deliver_all(api, fake, 0)
    configured(api, t)
    billing_messages()
    spend_to(api, t, 60, events=False)
    assert billing_messages() == []  # the generation worker itself queues nothing
    events = webhook_messages()
    succeeded = [b for b in bodies(events) if b.get("event_type") == "job.succeeded"]
    assert len(succeeded) == 1 and succeeded[0]["workspace_id"] == t.workspace_id
    assert run_webhooks_worker(events) == {"batchItemFailures": []}
    first = billing_messages()
    assert [json.loads(m["Body"]) for m in first] == [{"type": "auto_topup", "workspace_id": t.workspace_id}]
    assert run_webhooks_worker(as_sqs(succeeded)) == {"batchItemFailures": []}  # SQS delivers it again
    second = billing_messages()
    assert len(second) == 1
    seen = len(fake.delivered)
    assert run_billing_worker(first + second) == {"batchItemFailures": []}
    assert len([r for r in fake.requests if r[1] == "/v1/payment_intents"]) == 1
    assert deliver_all(api, fake, seen) == ["applied"]
    assert get_wallet(t.workspace_id).available == 60 + 500


def test_a_failed_job_or_a_failing_check_queues_nothing_and_fails_no_event(api, fake, make_tenant, monkeypatch):
    t = make_tenant(plan="free", limits=UNLIMITED)
    buy_pack(api, fake, t)
    deliver_all(api, fake, 0)
    configured(api, t)
    adjust(t.workspace_id, 50 - int(get_wallet(t.workspace_id).available), reason="below", actor="test", now=clock.now())
    billing_messages()
    failed = {
        "type": "event",
        "workspace_id": t.workspace_id,
        "event_id": "evt_failed_1",
        "event_type": "job.failed",
        "data": {"job": {"id": "job_x"}},
        "occurred_at": clock.iso(clock.now()),
    }
    assert run_webhooks_worker(as_sqs([failed])) == {"batchItemFailures": []}
    assert billing_messages() == []  # a release charges nothing: no check
    import chalicelib.billing.topup as topup

    def broken(workspace_id: str) -> bool:
        raise RuntimeError("settings table down")

    monkeypatch.setattr(topup, "after_settlement", broken)
    succeeded = dict(failed, event_id="evt_ok_1", event_type="job.succeeded")
    assert run_webhooks_worker(as_sqs([succeeded])) == {"batchItemFailures": []}
    assert billing_messages() == []


def test_a_live_claim_outlasts_its_billing_worker():
    """CLAIM_LIVE_S is at least the billing worker's timeout in every stage: an older claim has no
    worker left, so resuming it never races the worker that made it."""
    config = json.loads((Path(__file__).parents[2] / ".chalice" / "config.json").read_text())
    functions = [stage.get("lambda_functions", {}).get("billing_worker") for stage in config["stages"].values()]
    timeouts = [function["lambda_timeout"] for function in functions if function]
    assert timeouts and max(timeouts) <= CLAIM_LIVE_S


def test_two_triggers_for_one_cycle_pay_once(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    buy_pack(api, fake, t)
    deliver_all(api, fake, 0)
    configured(api, t)
    adjust(t.workspace_id, -1000, reason="drain", actor="test", now=clock.now())  # available 50 < 100
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: run_topup(t.workspace_id), range(6)))
    assert results.count("requested") == 1, results
    assert len([r for r in fake.requests if r[1] == "/v1/payment_intents"]) == 1


def test_topup_never_exceeds_the_monthly_cap(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    buy_pack(api, fake, t)
    deliver_all(api, fake, 0)
    configured(api, t, amount=400, monthly_cap=1000)
    granted = 0
    for _ in range(4):
        adjust(t.workspace_id, -int(get_wallet(t.workspace_id).available), reason="drain", actor="test", now=clock.now())
        seen = len(fake.delivered)
        result = run_topup(t.workspace_id)
        deliver_all(api, fake, seen)
        if result == "requested":
            granted += 400
        else:
            assert result == "cap_reached"
    assert granted == 800 and TopupModel.get(t.workspace_id).granted_this_period == 800


def test_racing_a_manual_topup_makes_it_unnecessary(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    configured(api, t)
    billing_messages()
    spend_to(api, t, 60)
    messages = billing_messages()
    assert messages
    buy_pack(api, fake, t)  # the owner tops up by hand before the queued top-up runs
    deliver_all(api, fake, 0)
    before = len([r for r in fake.requests if r[1] == "/v1/payment_intents"])
    run_billing_worker(messages)
    assert len([r for r in fake.requests if r[1] == "/v1/payment_intents"]) == before  # nothing charged
    assert run_topup(t.workspace_id) == "not_needed"


def test_three_failures_disable_auto_topup_and_notify(api, fake, make_tenant):
    t = make_tenant(plan="free", limits=UNLIMITED)
    buy_pack(api, fake, t)
    deliver_all(api, fake, 0)
    configured(api, t)
    customer = fake.customers and next(iter(fake.customers))
    fake.declining.add(customer)
    adjust(t.workspace_id, -int(get_wallet(t.workspace_id).available), reason="drain", actor="test", now=clock.now())
    for attempt in range(3):
        seen = len(fake.delivered)
        assert run_topup(t.workspace_id) == "declined"
        assert deliver_all(api, fake, seen) == ["duplicate"]  # the failure webhook is the same failure
        assert TopupModel.get(t.workspace_id).consecutive_failures == attempt + 1
    state = TopupModel.get(t.workspace_id)
    assert state.enabled is False and "3 consecutive" in state.disabled_reason
    assert run_topup(t.workspace_id) == "disabled"
    audit = [a for a in AuditModel.query(t.workspace_id) if a.action == "billing.auto_topup_disabled"]
    assert [(a.actor, a.after, a.reason) for a in audit] == [("system", {"enabled": False}, "3 consecutive payment failures")]
    fake.declining.clear()
    configured(api, t)  # re-enabling clears the streak
    assert TopupModel.get(t.workspace_id).consecutive_failures == 0
    assert reconcile_wallet(t.workspace_id).ok


def test_a_success_between_failures_resets_the_streak_and_only_3_in_a_row_notify(api, fake, make_tenant, monkeypatch):
    """fail, fail, success, fail keeps auto top-up on (a streak is consecutive failures only);
    then two more failures make three in a row: disabled, audited, and the owner told once."""
    t = make_tenant(plan="free", limits=UNLIMITED)
    notices: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "chalicelib.billing.topup.notify_owner", lambda workspace_id, kind, text: notices.append((workspace_id, kind))
    )
    buy_pack(api, fake, t)
    deliver_all(api, fake, 0)
    configured(api, t, monthly_cap=10_000)
    customer = next(iter(fake.customers))

    def drain_wallet() -> None:
        adjust(t.workspace_id, -int(get_wallet(t.workspace_id).available), reason="drain", actor="test", now=clock.now())

    def attempt(declined: bool) -> None:
        drain_wallet()
        (fake.declining.add if declined else fake.declining.discard)(customer)
        seen = len(fake.delivered)
        assert run_topup(t.workspace_id) == ("declined" if declined else "requested")
        deliver_all(api, fake, seen)

    for declined, streak in ((True, 1), (True, 2), (False, 0), (True, 1)):
        attempt(declined)
        state = TopupModel.get(t.workspace_id, consistent_read=True)
        assert (state.enabled, int(state.consecutive_failures)) == (True, streak)
    assert notices == []
    attempt(True)
    attempt(True)
    state = TopupModel.get(t.workspace_id, consistent_read=True)
    assert state.enabled is False and int(state.consecutive_failures) == 3
    assert notices == [(t.workspace_id, "auto_topup_disabled")]
    assert reconcile_wallet(t.workspace_id).ok


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    status = 204  # what the hook answers

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(_Receiver.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture()
def hook(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "whsec_" + "c3RhdGVtZW50LWhvb2stc2VjcmV0LTEyMzQ1Njc4OTA="
    monkeypatch.setenv("BILLING_HOOK_URL", f"http://127.0.0.1:{server.server_port}/billing")
    monkeypatch.setenv("BILLING_HOOK_SECRET", secret)
    secrets.reset()
    _Receiver.received = []
    yield secret
    server.shutdown()
    secrets.reset()


def test_internal_billing_statement_is_written_and_signed_once(api, fresh_aws, make_tenant, admin, hook, frozen_clock):
    frozen_clock.set(datetime(2026, 10, 20, tzinfo=UTC))
    t = make_tenant(plan="enterprise", limits=UNLIMITED)
    call(api, "PUT", f"/admin/api/workspaces/{t.workspace_id}/billing", admin, {"provider": "internal", "reason": "invoiced"})
    purge()
    for n in (1, 3):
        call(api, "POST", "/v1/jobs", t, {"prompt": f"october {n}", "n": n})
    drain()
    frozen_clock.set(datetime(2026, 11, 1, 0, 5, tzinfo=UTC))
    status, body, _ = call(api, "POST", "/admin/api/scheduled/monthly_reset/run", admin)
    assert status == 200 and body["result"]["statements"] == 1
    assert call(api, "POST", "/admin/api/scheduled/monthly_reset/run", admin)[1]["result"]["statements"] == 0  # once
    assert len(_Receiver.received) == 1
    headers, payload = _Receiver.received[0]
    from standardwebhooks.webhooks import Webhook

    verified = Webhook(hook).verify(payload, headers)
    assert verified["type"] == "billing.statement" and verified["data"]["workspace_id"] == t.workspace_id
    assert verified["data"]["period"] == "2026-10" and verified["data"]["totals"]["credits"] == 4
    csv_text = client("s3").get_object(Bucket=get_settings().images_bucket, Key=verified["data"]["s3_key"])["Body"].read()
    lines = csv_text.decode().strip().splitlines()
    assert lines[0].startswith("day,jobs") and lines[-1].startswith("total,2,") and "2026-10-20" in lines[1]
    with pytest.raises(Exception):  # noqa: B017 - any tampering fails verification
        Webhook(hook).verify(payload.replace(b"2026-10", b"2026-09"), headers)


@pytest.mark.parametrize(("answer", "delivered"), [(200, True), (204, True), (299, True), (300, False), (503, False)])
def test_a_statement_is_delivered_only_when_the_hook_answers_2xx(aws, make_tenant, hook, monkeypatch, answer, delivered):
    from chalicelib.billing.statements import write_statement

    monkeypatch.setattr(_Receiver, "status", answer)
    t = make_tenant(plan="enterprise", limits=UNLIMITED)
    statement = write_statement(t.workspace_id, "2026-10")
    assert (statement.delivered, statement.s3_key) == (delivered, f"statements/2026-10/{t.workspace_id}.csv")
    assert len(_Receiver.received) == 1
    stored = client("s3").get_object(Bucket=get_settings().images_bucket, Key=statement.s3_key)["Body"].read().decode()
    assert stored.splitlines()[0].startswith("day,jobs")


def _due(api: Any, fake: Any, make_tenant: Any, available: int = 50) -> Any:
    """A workspace with a saved card, auto top-up at 100 (500 credits a time) and `available` left."""
    t = make_tenant(plan="free", limits=UNLIMITED)
    topup_ready(api, fake, t, available=available)
    return t


def _intent_requests(fake: Any) -> list[Any]:
    return [r for r in fake.requests if r[1] == "/v1/payment_intents"]


def test_at_the_threshold_exactly_nothing_is_bought(api, fake, make_tenant):
    t = _due(api, fake, make_tenant, available=100)
    with get_items_of(TopupModel) as reads:
        assert run_topup(t.workspace_id) == "not_needed"  # below the threshold, not at it
    assert [r.get("ConsistentRead") for r in reads] == [True]  # the settings as last written, not a replica's
    assert _intent_requests(fake) == []
    adjust(t.workspace_id, -1, reason="one under", actor="test", now=clock.now())
    assert run_topup(t.workspace_id) == "requested"


def test_a_second_trigger_while_the_payment_is_in_flight_asks_stripe_nothing(api, fake, make_tenant):
    t = _due(api, fake, make_tenant)
    assert run_topup(t.workspace_id) == "requested"
    (request,) = _intent_requests(fake)
    state = TopupModel.get(t.workspace_id, consistent_read=True)
    assert state.pending_payment_intent.startswith("pi_")  # the intent Stripe answered with
    assert run_topup(t.workspace_id) == "in_flight"
    assert _intent_requests(fake) == [request]


@pytest.mark.parametrize("request_recorded", [True, False])
def test_a_crash_after_the_claim_resumes_the_same_payment(api, fake, make_tenant, monkeypatch, request_recorded, frozen_clock):
    """The worker died after claiming the cycle and before Stripe answered: a trigger within the
    billing worker's timeout leaves the claim to it (it may still be sending); the next one after
    resumes that claim, with the same key and amount, instead of claiming another cycle. A claim
    from before requests were recorded gets its request recorded then."""
    from chalicelib.billing import gateway
    from chalicelib.store.models import MarkerModel

    t = _due(api, fake, make_tenant)
    real = gateway.create_off_session_payment

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the Lambda timed out")

    monkeypatch.setattr(gateway, "create_off_session_payment", crash)
    with pytest.raises(RuntimeError):
        run_topup(t.workspace_id)
    claimed = TopupModel.get(t.workspace_id, consistent_read=True)
    key = str(claimed.pending_payment_intent)[4:]
    assert key == f"topup:{t.workspace_id}:{claimed.period}:0" and int(claimed.attempts_this_period) == 1
    if not request_recorded:
        MarkerModel(f"topup_request:{key}").delete()
    monkeypatch.setattr(gateway, "create_off_session_payment", real)
    seen = len(fake.delivered)
    if request_recorded:  # the claim's age is known: within the worker's timeout, it is left alone
        frozen_clock.advance(seconds=CLAIM_LIVE_S - 1)
        assert run_topup(t.workspace_id) == "claimed_elsewhere" and _intent_requests(fake) == []
    frozen_clock.advance(seconds=2)
    assert run_topup(t.workspace_id) == "requested"
    request = MarkerModel.get(f"topup_request:{key}", consistent_read=True)
    assert (request.data["credits"], request.data["amount_cents"]) == (500, 500) and request.created_at is not None
    assert int(TopupModel.get(t.workspace_id, consistent_read=True).attempts_this_period) == 1  # no new cycle
    (succeeded,) = fake.delivered[seen:]
    assert succeeded["data"]["object"]["metadata"]["topup_key"] == key
    assert deliver_all(api, fake, seen) == ["applied"]
    assert get_wallet(t.workspace_id).available == 50 + 500


def test_configuring_records_when_and_who(api, fake, make_tenant, frozen_clock):
    from chalicelib.store.models import AuditModel

    frozen_clock.set(datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    t = make_tenant(plan="free", limits=UNLIMITED)
    configured(api, t)
    assert TopupModel.get(t.workspace_id, consistent_read=True).updated_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    (entry,) = [a for a in AuditModel.query(t.workspace_id) if a.action == "billing.auto_topup"]
    assert entry.after["threshold"] == 100 and entry.before is None
