"""Events → deliveries → signed attempts, on the Standard Webhooks schedule.

A receiver on loopback verifies every request with the reference library (`standardwebhooks`)
and sees one `webhook-id` per event under retries, duplicate SQS messages, duplicate triggers
and replays."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.store.audit import trail
from chalicelib.store.models import WebhookDeliveryModel, WebhookEndpointModel
from chalicelib.webhooks import delivery, emit, event_id, queue
from tests.functional.helpers import call, drain
from tests.functional.webhook_helpers import CapturedQueue, as_sqs, drain_webhooks, receiver, run_webhooks_worker


def endpoint_for(api: Any, tenant: Any, url: str, events: list[str] | None = None) -> tuple[str, str]:
    status, body, _ = call(api, "POST", "/v1/webhook-endpoints", tenant, {"url": url, "events": events or ["job.succeeded"]})
    assert status == 201, body
    return body["endpoint"]["id"], body["secret"]


def test_a_finished_job_is_delivered_once_signed_with_the_same_id_under_duplicates(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    with receiver() as hook:
        endpoint_id, secret = endpoint_for(api, owner, hook.url, ["job.succeeded", "job.failed"])
        status, job, _ = call(api, "POST", "/v1/jobs", owner, {"prompt": "a lighthouse at dusk"})
        assert status == 202
        drain()
        consumed = drain_webhooks()
        assert any(m["type"] == "event" and m["workspace_id"] == owner.workspace_id for m in consumed)
        verified = hook.verified(secret)
        assert len(hook.requests) == len(verified) == 1
        assert verified[0]["type"] == "job.succeeded" and verified[0]["data"]["job"]["id"] == job["job"]["id"]
        first_id = hook.requests[0]["headers"]["webhook-id"]
        # A duplicate trigger of the same event (same business key → same id) delivers nothing new.
        again = event_id(f"job:{job['job']['id']}:succeeded", clock.now())
        emit("job.succeeded", owner.workspace_id, {"job": {}}, first_id)
        drain_webhooks()
        assert len(hook.requests) == 1 and first_id.startswith("evt_") and again.startswith("evt_")
    status, page, _ = call(api, "GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", owner)
    assert status == 200 and len(page["data"]) == 1
    (one,) = page["data"]
    assert one["status"] == "succeeded" and one["event_id"] == first_id and one["event_type"] == "job.succeeded"
    (attempt,) = one["attempts"]
    assert attempt["status_code"] == 200 and attempt["latency_ms"] >= 0 and len(attempt["response"]) == 1024


def test_an_endpoint_not_listening_gets_nothing_and_nothing_is_written(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    with receiver() as hook:
        endpoint_id, _ = endpoint_for(api, owner, hook.url, ["topup.failed"])
        call(api, "POST", "/v1/jobs", owner, {"prompt": "a quiet pond"})
        drain()
        drain_webhooks()
        assert hook.requests == []
    assert list(WebhookDeliveryModel.by_endpoint.query(endpoint_id)) == []


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> CapturedQueue:
    fake = CapturedQueue()
    monkeypatch.setattr(queue, "send", fake.send)
    return fake


def _play(fake: CapturedQueue, clock_: Any = None) -> list[int]:
    """Let the longest delay pass (with a frozen clock), then run what was queued in one batch;
    returns the delays that were asked for."""
    taken = fake.take()
    if taken and clock_ is not None:
        clock_.advance(seconds=max(d for _, d in taken))
    if taken:
        run_webhooks_worker(as_sqs([m for m, _ in taken]))
    return [d for _, d in taken]


def _emit_one(owner: Any, name: str = "job.succeeded") -> str:
    eid = event_id(f"test:{owner.workspace_id}:{name}", clock.now())
    emit(name, owner.workspace_id, {"job": {"id": "job_x"}}, eid)
    return eid


def test_retries_follow_the_schedule_with_one_id_and_duplicates_send_nothing(
    api: Any, make_tenant: Any, captured: CapturedQueue, frozen_clock: Any
) -> None:
    owner = make_tenant()
    with receiver(answers=[500, 503, 200]) as hook:
        endpoint_id, secret = endpoint_for(api, owner, hook.url)
        eid = _emit_one(owner)
        assert _play(captured) == [0]  # the event → one delivery, its first attempt now
        assert _play(captured) == [0]  # attempt 1 (500) → attempt 2 in 5 s
        captured.sent.append(captured.sent[0])  # the same SQS message delivered twice
        assert _play(captured, frozen_clock) == [5, 5]  # attempt 2 (503) made once → 5 min
        assert _play(captured, frozen_clock) == [300]  # attempt 3 (200)
        assert captured.sent == []
        assert [r["headers"]["webhook-id"] for r in hook.requests] == [eid] * 3
        assert len(hook.verified(secret)) == 3
    (row,) = WebhookDeliveryModel.by_endpoint.query(endpoint_id)
    assert row.status == "succeeded" and [a["status_code"] for a in row.attempts] == [500, 503, 200]
    assert WebhookEndpointModel.get(owner.workspace_id, endpoint_id).failing_since is None


def test_a_retry_later_than_15_minutes_waits_in_steps_of_the_maximum_delay(
    api: Any, make_tenant: Any, captured: CapturedQueue, frozen_clock: Any
) -> None:
    owner = make_tenant()
    endpoint_for(api, owner, "http://127.0.0.1:9/unreachable")
    _emit_one(owner)
    delays = [_play(captured, frozen_clock) for _ in range(5)]
    assert delays == [[0], [0], [5], [300], [900]]  # refused each time; attempt 4 is due in 30 min
    assert captured.sent[0][1] == 900  # not due after 15 min: sent on with the maximum delay again
    assert _play(captured, frozen_clock) == [900]
    assert captured.sent[0][1] == 900 and captured.sent[0][0]["attempt"] == 4  # attempt 4 made; 5 is 2 h away


def test_the_schedule_ends_failed_after_ten_attempts(
    api: Any, make_tenant: Any, captured: CapturedQueue, frozen_clock: Any
) -> None:
    owner = make_tenant()
    endpoint_id, _ = endpoint_for(api, owner, "http://127.0.0.1:9/unreachable")
    _emit_one(owner)
    for _ in range(400):
        if not _play(captured, frozen_clock):
            break
    (row,) = WebhookDeliveryModel.by_endpoint.query(endpoint_id)
    assert row.status == "failed" and len(row.attempts) == len(delivery.SCHEDULE_S) == 10
    assert all(a["status_code"] is None and a["error"] for a in row.attempts)


def test_410_disables_the_endpoint_and_later_deliveries_stop(
    api: Any, make_tenant: Any, captured: CapturedQueue, frozen_clock: Any
) -> None:
    owner = make_tenant()
    with receiver(answers=[410]) as hook:
        endpoint_id, _ = endpoint_for(api, owner, hook.url)
        _emit_one(owner)
        _play(captured)
        _play(captured)
        assert captured.sent == []
        endpoint = WebhookEndpointModel.get(owner.workspace_id, endpoint_id)
        assert endpoint.status == "disabled" and "410" in endpoint.disabled_reason
        assert any(a.action == "webhooks.endpoint_disabled" for a in trail(owner.workspace_id))
        _emit_one(owner, "job.succeeded")
        assert _play(captured) == [0] and captured.sent == []  # nobody listens any more
        assert len(hook.requests) == 1


def test_five_days_of_failures_disable_the_endpoint_and_notify(
    api: Any, make_tenant: Any, captured: CapturedQueue, frozen_clock: Any
) -> None:
    owner = make_tenant()
    endpoint_id, _ = endpoint_for(api, owner, "http://127.0.0.1:9/down")
    for _ in range(3):  # three events, each failing its first attempt: at 0, 2.5 and 5 days
        _emit_one(owner)
        _play(captured)
        _play(captured)
        frozen_clock.advance(days=2.5)
        captured.take()
    assert WebhookEndpointModel.get(owner.workspace_id, endpoint_id).status == "disabled"
    assert any(a.action == "webhooks.endpoint_disabled" and a.reason == "failing for 5 days" for a in trail(owner.workspace_id))


def test_replay_sends_the_same_id_again_and_rotation_signs_with_both_secrets(
    api: Any, make_tenant: Any, captured: CapturedQueue, frozen_clock: Any
) -> None:
    owner, other = make_tenant(), make_tenant()
    with receiver() as hook:
        endpoint_id, old_secret = endpoint_for(api, owner, hook.url)
        eid = _emit_one(owner)
        _play(captured)
        _play(captured)
        (row,) = WebhookDeliveryModel.by_endpoint.query(endpoint_id)
        assert row.status == "succeeded"
        assert call(api, "POST", f"/v1/webhook-deliveries/{row.delivery_id}/replay", other)[0] == 404
        new_secret = call(api, "POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", owner)[1]["secret"]
        status, replayed, _ = call(api, "POST", f"/v1/webhook-deliveries/{row.delivery_id}/replay", owner)
        assert status == 202 and replayed["delivery"]["status"] == "pending"
        _play(captured)
        assert [r["headers"]["webhook-id"] for r in hook.requests] == [eid, eid]
        assert len(hook.verified(old_secret)) == 2 and len(hook.verified(new_secret)) == 1
        frozen_clock.advance(days=2)  # the overlap is over: the old secret no longer signs
        call(api, "POST", f"/v1/webhook-deliveries/{row.delivery_id}/replay", owner)
        _play(captured)
        assert len(hook.verified(old_secret)) == 2 and len(hook.verified(new_secret)) == 2
    final = WebhookDeliveryModel.get(owner.workspace_id, row.delivery_id)
    assert final.status == "succeeded" and [a["attempt"] for a in final.attempts] == [1, 2, 3]


def test_a_deployed_stage_refuses_a_private_address_at_delivery_time(
    api: Any, make_tenant: Any, captured: CapturedQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_tenant()
    with receiver() as hook:
        endpoint_id, _ = endpoint_for(api, owner, hook.url)
        _emit_one(owner)
        _play(captured)  # the event: its delivery row and first attempt
        from chalicelib.webhooks import ssrf

        monkeypatch.setattr(ssrf, "local_stage", lambda: False)  # as if deployed: https + public only
        _play(captured)
        assert hook.requests == []
    (row,) = WebhookDeliveryModel.by_endpoint.query(endpoint_id)
    assert row.attempts[0]["error"].startswith("refused") and row.status == "pending"


def test_malformed_messages_are_dropped_not_retried(aws: Any) -> None:
    bad = [{"type": "attempt"}, {"type": "mystery"}, {"type": "event", "occurred_at": "yesterday"}]
    messages = as_sqs(bad) + [{"MessageId": "z", "ReceiptHandle": "z", "Body": "not json", "Attributes": {}}]
    assert run_webhooks_worker(messages) == {"batchItemFailures": []}
    assert json.loads(messages[0]["Body"]) == {"type": "attempt"}


def test_failed_and_canceled_jobs_are_announced(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    with receiver() as hook:
        _, secret = endpoint_for(api, owner, hook.url, ["job.failed", "job.canceled"])
        canceled = call(api, "POST", "/v1/jobs", owner, {"prompt": "to be canceled"})[1]["job"]["id"]
        assert call(api, "POST", f"/v1/jobs/{canceled}/cancel", owner)[0] == 200
        failed = call(api, "POST", "/v1/jobs", owner, {"prompt": "never [fail:safety]"})[1]["job"]["id"]
        drain()
        drain_webhooks()
        seen = {(b["type"], b["data"]["job"]["id"]) for b in hook.verified(secret)}
    assert seen == {("job.canceled", canceled), ("job.failed", failed)}


def test_a_failed_top_up_is_announced_once(api: Any, make_tenant: Any) -> None:
    from chalicelib.billing import topup

    owner = make_tenant()
    with receiver() as hook:
        _, secret = endpoint_for(api, owner, hook.url, ["topup.failed", "topup.succeeded"])
        topup._fail(owner.workspace_id, "card declined", "pi_declined_1")
        topup._fail(owner.workspace_id, "card declined", "pi_declined_1")  # the webhook reports the same failure
        drain_webhooks()
        (only,) = hook.verified(secret)
    assert only["type"] == "topup.failed" and only["data"]["topup"]["payment"] == "pi_declined_1"
