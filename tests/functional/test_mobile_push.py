"""Push notifications when a job ends: sent by the webhooks worker (never by the request or the
generation worker), as the user's settings ask, to Expo (a fake of its wire format on loopback)
and to SNS platform endpoints (moto); dead tokens pruned from tickets, receipts and SNS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.aws import client
from chalicelib.store import devices as device_store
from tests.functional.helpers import call, drain
from tests.functional.library_helpers import member_of
from tests.functional.mobile_helpers import apns_token, expo_token, fake_expo, fcm_token, register
from tests.functional.webhook_helpers import drain_webhooks, run_webhooks_worker, webhook_messages


def _job(api: Any, tenant: Any, prompt: str = "a red fox") -> str:
    status, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": prompt, "n": 1})
    assert status == 202, body
    drain()
    return str(body["job"]["id"])


def _endpoint_messages(arn: str) -> list[dict[str, Any]]:
    """What moto's SNS holds for a platform endpoint (the server runs in this process)."""
    from moto.sns.models import sns_backends

    for account in sns_backends.values():
        for backend in account.values():
            if arn in backend.platform_endpoints:
                return [json.loads(m) for m in backend.platform_endpoints[arn].messages.values()]
    raise AssertionError(f"no endpoint {arn}")


def test_a_succeeded_job_pushes_to_the_users_expo_devices(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        token = expo_token()
        register(api, t, "expo", token)
        drain_webhooks()
        job_id = _job(api, t)
        assert expo.sent == []  # settled, not pushed: that is the webhooks worker's work
        drain_webhooks()
        mine = [m for m in expo.sent if m["to"] == token]
        assert len(mine) == 1
        assert mine[0]["title"] == "Your images are ready" and mine[0]["data"] == {"type": "job.succeeded", "job_id": job_id}


def test_settings_off_means_no_push(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        token = expo_token()
        register(api, t, "expo", token)
        status, body, _ = call(api, "PUT", "/v1/me/notifications", t, {"job_succeeded": False})
        assert status == 200 and body == {"job_succeeded": False, "job_failed": True}
        _job(api, t)
        drain_webhooks()
        assert [m for m in expo.sent if m["to"] == token] == []
        _job(api, t, "[fail:always] a fox")
        drain_webhooks()
        failed = [m for m in expo.sent if m["to"] == token]
        assert len(failed) == 1 and failed[0]["title"] == "A job failed"
        assert call(api, "PUT", "/v1/me/notifications", t, {"job_failed": False})[1] == {
            "job_succeeded": False,
            "job_failed": False,
        }
        _job(api, t, "[fail:always] another fox")
        drain_webhooks()
        assert len([m for m in expo.sent if m["to"] == token]) == 1


def test_only_the_jobs_user_gets_the_push(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    colleague = member_of(t, "member")
    with fake_expo(monkeypatch) as expo:
        mine, theirs = expo_token(), expo_token()
        register(api, t, "expo", mine)
        register(api, colleague, "expo", theirs)
        _job(api, colleague)
        drain_webhooks()
        assert [m["to"] for m in expo.sent if m["to"] in (mine, theirs)] == [theirs]


def test_a_duplicate_event_pushes_once(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        token = expo_token()
        register(api, t, "expo", token)
        drain_webhooks()
        _job(api, t)
        events = [m for m in webhook_messages() if json.loads(m["Body"]).get("event_type") == "job.succeeded"]
        assert len(events) == 1
        run_webhooks_worker(events)
        run_webhooks_worker(events)  # SQS delivered it twice
        assert len([m for m in expo.sent if m["to"] == token]) == 1


def test_an_expo_outage_retries_the_push(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        token = expo_token()
        register(api, t, "expo", token)
        drain_webhooks()
        _job(api, t)
        events = [m for m in webhook_messages() if json.loads(m["Body"]).get("event_type") == "job.succeeded"]
        expo.fail_next = 1
        failed = run_webhooks_worker(events)
        assert [f["itemIdentifier"] for f in failed["batchItemFailures"]] == [events[0]["MessageId"]]
        assert run_webhooks_worker(events) == {"batchItemFailures": []}  # the message came back
        assert len([m for m in expo.sent if m["to"] == token]) == 1


def test_receipts_prune_dead_tokens(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        alive, dead = expo_token(), expo_token()
        alive_id = register(api, t, "expo", alive)["device"]["id"]
        register(api, t, "expo", dead)
        expo.dead.add(dead)
        _job(api, t)
        drain_webhooks()  # the event (pushes, queues the receipt check), then the check itself
        assert expo.receipt_requests, "receipts were asked for"
        assert [d["id"] for d in call(api, "GET", "/v1/devices", t)[1]["data"]] == [alive_id]


def test_receipts_not_ready_are_asked_again(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        dead = expo_token()
        register(api, t, "expo", dead)
        expo.dead.add(dead)
        expo.hold_receipts = True
        _job(api, t)
        drain_webhooks(rounds=2)  # the event, then a check that finds no receipt yet
        assert len(call(api, "GET", "/v1/devices", t)[1]["data"]) == 1
        expo.hold_receipts = False
        drain_webhooks()
        assert call(api, "GET", "/v1/devices", t)[1]["data"] == []
        assert len(expo.receipt_requests) >= 2


def test_a_ticket_already_refused_prunes_at_once(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch) as expo:
        gone = expo_token()
        register(api, t, "expo", gone)
        expo.gone.add(gone)
        _job(api, t)
        drain_webhooks()
        assert call(api, "GET", "/v1/devices", t)[1]["data"] == []


def test_ios_and_android_are_published_to_their_sns_endpoints(
    api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch):
        ios = register(api, t, "ios", apns_token())["device"]["id"]
        android = register(api, t, "android", fcm_token())["device"]["id"]
        job_id = _job(api, t)
        drain_webhooks()
    for device_id in (ios, android):
        row = device_store.get(t.workspace_id, t.user_id, device_id)
        assert row is not None
        (message,) = _endpoint_messages(str(row.endpoint_arn))
        assert json.loads(message["APNS"])["aps"]["alert"]["title"] == "Your images are ready"
        assert json.loads(message["GCM"])["data"] == {"type": "job.succeeded", "job_id": job_id}


def test_a_disabled_sns_endpoint_prunes_its_device(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    t = make_tenant()
    with fake_expo(monkeypatch):
        device = register(api, t, "android", fcm_token())["device"]["id"]
        row = device_store.get(t.workspace_id, t.user_id, device)
        assert row is not None
        client("sns").set_endpoint_attributes(EndpointArn=str(row.endpoint_arn), Attributes={"Enabled": "false"})
        _job(api, t)
        drain_webhooks()
    assert call(api, "GET", "/v1/devices", t)[1]["data"] == []


def test_notification_settings_default_on_and_change_field_by_field(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    assert call(api, "GET", "/v1/me/notifications", t)[1] == {"job_succeeded": True, "job_failed": True}
    assert call(api, "PUT", "/v1/me/notifications", t, {"job_failed": False})[1] == {"job_succeeded": True, "job_failed": False}
    assert call(api, "GET", "/v1/me/notifications", t)[1] == {"job_succeeded": True, "job_failed": False}
    status, me, _ = call(api, "GET", "/v1/me", t)
    assert status == 200, me


@pytest.mark.parametrize(
    "body",
    [{}, {"job_failed": None}, {"job_failed": "no"}, {"job_failed": 0}, {"email": True}, {"job_succeeded": True, "x": 1}],
)
def test_bad_notification_settings_are_400_and_change_nothing(api: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    t = make_tenant()
    status, answer, _ = call(api, "PUT", "/v1/me/notifications", t, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert call(api, "GET", "/v1/me/notifications", t)[1] == {"job_succeeded": True, "job_failed": True}
