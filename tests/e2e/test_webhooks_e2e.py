"""Webhooks over the local stack, as a customer sees them: a job finishes, the endpoint on
loopback answers 500 and then 200, and the retry arrives after the real 5 s SQS delay with the
same `webhook-id`, both signatures verified with the reference library."""

from __future__ import annotations

import time

import pytest
import requests

from tests.functional.webhook_helpers import receiver
from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_a_finished_job_reaches_the_endpoint_and_is_retried_with_the_same_id(stack: Stack) -> None:
    made = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Hooks", "owner_email": "owner@hooks.test", "plan": "starter"},
        timeout=10,
    ).json()
    auth = {"Authorization": f"Bearer {made['api_key']}", "Content-Type": "application/json"}
    with receiver(answers=[500]) as hook:
        created = requests.post(
            f"{stack.base}/v1/webhook-endpoints", headers=auth, json={"url": hook.url, "events": ["job.succeeded"]}, timeout=10
        )
        assert created.status_code == 201, created.text
        endpoint_id, secret = created.json()["endpoint"]["id"], created.json()["secret"]
        job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "a harbour at night"}, timeout=10).json()
        started = time.monotonic()
        wait_for(lambda: len(hook.requests) >= 2, timeout=60)
        assert time.monotonic() - started >= 5  # the retry waited for its SQS delay
        verified = hook.verified(secret)
        assert len(verified) == 2 and {b["data"]["job"]["id"] for b in verified} == {job["job"]["id"]}
        assert len({r["headers"]["webhook-id"] for r in hook.requests}) == 1
    page = requests.get(f"{stack.base}/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=auth, timeout=10).json()
    (delivery,) = page["data"]
    assert delivery["status"] == "succeeded" and [a["status_code"] for a in delivery["attempts"]] == [500, 200]
