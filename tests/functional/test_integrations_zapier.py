"""Zapier REST hooks: subscribe (one target URL per Zap), deliveries through the webhook
machinery, unsubscribe, samples newest first with `id`; other tenants see nothing."""

from __future__ import annotations

from typing import Any

from tests.functional.helpers import call, drain
from tests.functional.webhook_helpers import drain_webhooks, receiver

BASE = "/v1/integrations/zapier"


def test_subscribe_deliver_samples_unsubscribe(api: Any, make_tenant: Any) -> None:
    owner, other = make_tenant(), make_tenant()
    status, example, _ = call(api, "GET", f"{BASE}/samples?event=job.succeeded", owner)
    assert status == 200 and isinstance(example, list) and example[0]["id"] == "evt_example"
    with receiver() as zap:
        status, sub, _ = call(api, "POST", f"{BASE}/subscriptions", owner, {"target_url": zap.url, "event": "job.succeeded"})
        assert status == 201 and sub["id"].startswith("whe_")
        jobs = [call(api, "POST", "/v1/jobs", owner, {"prompt": f"zap {n}"})[1]["job"]["id"] for n in range(2)]
        drain()
        drain_webhooks()
        delivered = [r["headers"]["webhook-id"] for r in zap.requests]
        assert len(delivered) == 2
        status, samples, _ = call(api, "GET", f"{BASE}/samples?event=job.succeeded", owner)
        assert status == 200 and [s["id"] for s in samples] == sorted(delivered, reverse=True)
        assert {s["data"]["job"]["id"] for s in samples} == set(jobs)
        assert call(api, "GET", f"{BASE}/samples?event=job.succeeded", other)[1][0]["id"] == "evt_example"
        assert call(api, "DELETE", f"{BASE}/subscriptions/{sub['id']}", other)[0] == 404
        assert call(api, "DELETE", f"{BASE}/subscriptions/{sub['id']}", owner)[0] == 204
        assert call(api, "DELETE", f"{BASE}/subscriptions/{sub['id']}", owner)[0] == 404
        call(api, "POST", "/v1/jobs", owner, {"prompt": "after unsubscribe"})
        drain()
        drain_webhooks()
        assert len(zap.requests) == 2
    assert call(api, "GET", "/v1/webhook-endpoints", owner)[1]["data"] == []  # a Zap is not a listed endpoint


def test_bad_subscriptions_and_sample_queries_are_400(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    for body in (
        {},
        {"target_url": "http://127.0.0.1:9/x"},
        {"target_url": "ftp://x.example/a", "event": "job.failed"},
        {"target_url": "http://127.0.0.1:9/x", "event": "job.exploded"},
    ):
        status, answer, _ = call(api, "POST", f"{BASE}/subscriptions", owner, body)
        assert status == 400 and answer["error"]["code"] == "invalid_request", (body, answer)
    for query in ("", "?event=", "?event=nope"):
        status, answer, _ = call(api, "GET", f"{BASE}/samples{query}", owner)
        assert status == 400 and answer["error"]["field"] == "event"
    endpoint = call(api, "POST", "/v1/webhook-endpoints", owner, {"url": "http://127.0.0.1:9/x", "events": ["job.failed"]})
    assert call(api, "DELETE", f"{BASE}/subscriptions/{endpoint[1]['endpoint']['id']}", owner)[0] == 404
