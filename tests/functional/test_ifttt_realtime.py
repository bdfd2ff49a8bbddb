"""IFTTT's Realtime API: a poll that names its trigger identity is remembered; a matching event
then makes the webhooks worker (never the request or the generation worker) call a fake IFTTT
on loopback, which checks the wire format: path, service key, UUID request id, JSON body."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.settings import get_settings
from chalicelib.store.models import WebhookDeliveryModel, WebhookEndpointModel
from chalicelib.webhooks import queue
from tests.functional.helpers import call, drain
from tests.functional.test_integrations_ifttt import SERVICE_KEY
from tests.functional.test_webhooks_delivery import _play
from tests.functional.webhook_helpers import CapturedQueue, drain_webhooks, receiver


@pytest.fixture()
def ifttt_on(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The integration is on: IFTTT's service key is set."""
    from chalicelib.secrets import secret

    monkeypatch.setenv("IFTTT_SERVICE_KEY", SERVICE_KEY)
    secret.cache_clear()
    yield {"IFTTT-Service-Key": SERVICE_KEY}
    secret.cache_clear()


@pytest.fixture()
def fake_ifttt(monkeypatch: pytest.MonkeyPatch) -> Any:
    with receiver() as fake:
        monkeypatch.setenv("IFTTT_REALTIME_URL", fake.url.removesuffix("/hooks"))
        get_settings.cache_clear()
        yield fake
        get_settings.cache_clear()


def _poll(api: Any, tenant: Any, slug: str, identity: str | None, keys: dict[str, str]) -> None:
    body = {"limit": 5} if identity is None else {"limit": 5, "trigger_identity": identity}
    status, page, _ = call(api, "POST", f"/ifttt/v1/triggers/{slug}", tenant, body, keys)
    assert status == 200, page


def _wire(request: dict[str, Any]) -> list[str]:
    """The request as IFTTT's Realtime API expects it; returns the identities it names."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert request["path"] == "/v1/notifications"
    assert headers["ifttt-service-key"] == SERVICE_KEY and headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json" and uuid.UUID(headers["x-request-id"])
    body = json.loads(request["body"])
    assert set(body) == {"data"} and all(set(item) == {"trigger_identity"} for item in body["data"])
    return [item["trigger_identity"] for item in body["data"]]


def test_a_matching_event_notifies_the_polled_identities_through_the_queue(
    api: Any, make_tenant: Any, ifttt_on: dict[str, str], fake_ifttt: Any
) -> None:
    owner, other = make_tenant(), make_tenant()
    _poll(api, owner, "job_succeeded", "applet-a", ifttt_on)
    _poll(api, owner, "job_succeeded", "applet-b", ifttt_on)
    _poll(api, owner, "job_succeeded", "applet-a", ifttt_on)  # polled again: still one identity
    _poll(api, owner, "job_failed", "applet-f", ifttt_on)
    _poll(api, other, "job_succeeded", "applet-other", ifttt_on)
    assert call(api, "POST", "/v1/jobs", owner, {"prompt": "a kite"})[0] == 202
    drain()
    assert fake_ifttt.requests == []  # never from the generation worker
    drain_webhooks()
    (request,) = fake_ifttt.requests
    assert sorted(_wire(request)) == ["applet-a", "applet-b"]
    assert call(api, "POST", "/v1/jobs", owner, {"prompt": "a kite [fail:safety]"})[0] == 202
    drain()
    drain_webhooks()
    assert [_wire(r) for r in fake_ifttt.requests[1:]] == [["applet-f"]]
    # IFTTT's rows are not webhook endpoints of the workspace's own
    status, listed, _ = call(api, "GET", "/v1/webhook-endpoints", owner)
    assert status == 200 and listed["data"] == []


def test_no_identity_no_call_and_a_failed_call_is_retried_a_few_times(
    api: Any, make_tenant: Any, ifttt_on: dict[str, str], fake_ifttt: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = make_tenant()
    _poll(api, quiet, "job_succeeded", None, ifttt_on)  # a poll without identity is not remembered
    call(api, "POST", "/v1/jobs", quiet, {"prompt": "nobody asked"})
    drain()
    drain_webhooks()
    assert fake_ifttt.requests == [] and list(WebhookEndpointModel.query(quiet.workspace_id)) == []

    owner = make_tenant()
    _poll(api, owner, "job_succeeded", "applet-r", ifttt_on)
    fake_ifttt.answers.extend([503] * 10)
    captured = CapturedQueue()
    monkeypatch.setattr(queue, "send", captured.send)
    call(api, "POST", "/v1/jobs", owner, {"prompt": "keep trying"})
    drain()
    delays = []
    for _ in range(8):  # let each asked-for delay pass, on the frozen clock
        delays += _play(captured, frozen_clock)
    assert captured.sent == [] and 300 in delays and 1800 not in delays
    ids = {r["headers"]["X-Request-ID"] for r in fake_ifttt.requests}
    assert len(fake_ifttt.requests) == 4 == len(ids)  # ATTEMPTS, one request id per attempt
    (row,) = WebhookEndpointModel.query(owner.workspace_id)
    (delivery,) = WebhookDeliveryModel.by_endpoint.query(row.endpoint_id)
    assert row.kind == "ifttt" and row.status == "enabled" and delivery.status == "failed"
    assert [a["status_code"] for a in delivery.attempts] == [503] * 4
