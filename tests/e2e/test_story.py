"""The README's curl story over real HTTP against the local stack, plus the failure cases."""

from __future__ import annotations

import io
import json
import signal
from datetime import UTC

import pytest
import requests
from PIL import Image

from tests.stack import Stack, start_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _workspace(stack: Stack, plan: str = "starter") -> dict[str, str]:
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Acme", "owner_email": "owner@acme.test", "plan": plan},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"workspace", "owner", "api_key"}
    return {"Authorization": f"Bearer {body['api_key']}", "Content-Type": "application/json"}


def _job(stack: Stack, auth: dict[str, str], job_id: str) -> dict:
    r = requests.get(f"{stack.base}/v1/jobs/{job_id}", headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["job"]


def _finished(stack: Stack, auth: dict[str, str], job_id: str, timeout: float = 30) -> dict:
    return wait_for(
        lambda: (j := _job(stack, auth, job_id))["status"] in ("succeeded", "failed", "canceled") and j, timeout=timeout
    )


def test_curl_story(stack: Stack):
    auth = _workspace(stack)
    r = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "a red fox in snow", "n": 4}, timeout=10)
    assert r.status_code == 202, r.text
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-Request-Id"} <= set(r.headers)
    job = r.json()["job"]
    assert job["status"] == "queued"
    listed = requests.get(f"{stack.base}/v1/jobs", headers=auth, timeout=10).json()["data"]
    assert listed[0]["id"] == job["id"]  # newest first, shown immediately
    done = _finished(stack, auth, job["id"], timeout=15)
    assert done["status"] == "succeeded" and len(done["images"]) == 4
    assert done["usage"]["credits_charged"] == 4
    for image in done["images"]:
        data = requests.get(image["url"], timeout=10).content
        with Image.open(io.BytesIO(data)) as png:
            assert png.format == "PNG" and png.size == (1024, 1024)
        assert len(data) == image["bytes"]
    balance = requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json()
    assert balance["allowance"]["used"] == 4 and balance["held"] == 0
    # A second job, then pagination newest first.
    second = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "an owl", "n": 1}, timeout=10).json()["job"]
    page = requests.get(f"{stack.base}/v1/jobs?limit=1", headers=auth, timeout=10).json()
    assert page["data"][0]["id"] == second["id"] and page["next_cursor"]
    page2 = requests.get(f"{stack.base}/v1/jobs?limit=1&cursor={page['next_cursor']}", headers=auth, timeout=10).json()
    assert page2["data"][0]["id"] == job["id"]
    me = requests.get(f"{stack.base}/v1/me", headers=auth, timeout=10).json()
    assert me["role"] == "owner"
    assert requests.patch(f"{stack.base}/v1/me", headers=auth, json={"display_name": "Ada"}, timeout=10).status_code == 200
    key = requests.post(f"{stack.base}/v1/keys", headers=auth, json={"name": "ci"}, timeout=10).json()
    other = {"Authorization": f"Bearer {key['secret']}"}
    assert requests.get(f"{stack.base}/v1/me", headers=other, timeout=10).status_code == 200
    assert requests.delete(f"{stack.base}/v1/keys/{key['key']['id']}", headers=auth, timeout=10).status_code == 204
    assert requests.get(f"{stack.base}/v1/me", headers=other, timeout=10).status_code == 401


def test_cancel_queued_job(stack: Stack):
    """The workspace may run one job at a time and a slow one holds its slot, so the next job is
    surely still queued when it is canceled: 200 every time, never a lucky 409."""
    auth = _workspace(stack)
    ws = requests.get(f"{stack.base}/v1/me", headers=auth, timeout=10).json()["workspace"]["id"]
    limits = requests.put(
        f"{stack.base}/admin/api/workspaces/{ws}/limits",
        headers=stack.admin(),
        json={"max_concurrent_jobs": 1, "reason": "e2e"},
        timeout=10,
    )
    assert limits.status_code == 200, limits.text
    slow = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "[slow:4000] hold the slot"}, timeout=10).json()[
        "job"
    ]
    wait_for(lambda: _job(stack, auth, slow["id"])["status"] == "running", timeout=30)
    job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "cancel me", "n": 2}, timeout=10).json()["job"]
    c = requests.post(f"{stack.base}/v1/jobs/{job['id']}/cancel", headers=auth, timeout=10)
    assert c.status_code == 200 and c.json()["job"]["status"] == "canceled", c.text
    assert _finished(stack, auth, slow["id"])["status"] == "succeeded"
    again = requests.post(f"{stack.base}/v1/jobs/{job['id']}/cancel", headers=auth, timeout=10)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    canceled = _job(stack, auth, job["id"])
    assert canceled["status"] == "canceled" and canceled["images"] == [] and canceled["started_at"] is None
    balance = requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json()
    assert balance["held"] == 0 and balance["allowance"]["used"] == 1  # only the slow job was charged


def test_duplicate_delivery_makes_one_set_of_images(stack: Stack):
    auth = _workspace(stack)
    job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "dup", "n": 2}, timeout=10).json()["job"]
    ws = requests.get(f"{stack.base}/v1/me", headers=auth, timeout=10).json()["workspace"]["id"]
    sqs = stack.sqs()
    url = sqs.get_queue_url(QueueName="imagegen-local-jobs")["QueueUrl"]
    for _ in range(3):  # the same job delivered three more times
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"workspace_id": ws, "job_id": job["id"]}))
    done = _finished(stack, auth, job["id"])
    assert done["status"] == "succeeded" and len(done["images"]) == 2
    wait_for(
        lambda: (
            int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
            == 0
        ),
        timeout=20,
    )
    ledger = requests.get(f"{stack.base}/v1/ledger", headers=auth, timeout=10).json()["data"]
    assert len([e for e in ledger if e["type"] == "charge"]) == 1


def test_crash_then_redelivery_settles_once(stack: Stack):
    auth = _workspace(stack)
    job = requests.post(
        f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "[crash:before_settle] fox", "n": 1}, timeout=10
    ).json()["job"]
    done = _finished(stack, auth, job["id"], timeout=30)
    assert done["status"] == "succeeded" and len(done["images"]) == 1
    ledger = requests.get(f"{stack.base}/v1/ledger", headers=auth, timeout=10).json()["data"]
    assert len([e for e in ledger if e["type"] == "charge"]) == 1


def test_repeated_crash_goes_to_dlq_and_fails_the_job(stack: Stack):
    auth = _workspace(stack)
    job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "[crash:always] fox", "n": 1}, timeout=10).json()[
        "job"
    ]
    done = _finished(stack, auth, job["id"], timeout=45)
    assert done["status"] == "failed" and done["error"]["code"] == "dead_lettered"
    balance = requests.get(f"{stack.base}/v1/balance", headers=auth, timeout=10).json()
    assert balance["held"] == 0


def test_provider_failure_fails_job_with_code(stack: Stack):
    auth = _workspace(stack)
    job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "[fail:safety] bad", "n": 1}, timeout=10).json()[
        "job"
    ]
    done = _finished(stack, auth, job["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "content_blocked"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"prompt": 5}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"prompt": "x", "kind": "paint"}, 400, "invalid_request"),
        ({"prompt": "x" * 5000}, 400, "invalid_request"),
        ({"prompt": "x", "n": "2"}, 400, "invalid_request"),
    ],
)
def test_bad_input_over_http(stack: Stack, body, status, code):
    auth = _workspace(stack)
    r = requests.post(f"{stack.base}/v1/jobs", headers=auth, json=body, timeout=10)
    assert r.status_code == status and r.json()["error"]["code"] == code
    assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"]


def test_bad_json_no_key_other_tenant(stack: Stack):
    auth = _workspace(stack)
    r = requests.post(f"{stack.base}/v1/jobs", headers=auth, data="{oops", timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = requests.post(f"{stack.base}/v1/jobs", json={"prompt": "x"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = requests.post(
        f"{stack.base}/v1/jobs", headers={"Authorization": "Bearer sk_test_unknown"}, json={"prompt": "x"}, timeout=10
    )
    assert r.status_code == 401
    job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "mine"}, timeout=10).json()["job"]
    other = _workspace(stack)
    r = requests.get(f"{stack.base}/v1/jobs/{job['id']}", headers=other, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_ctrl_c_stops_everything():
    s = start_stack()
    s.process.send_signal(signal.SIGINT)
    assert s.process.wait(timeout=40) == 0  # 10 s of grace (STOP_GRACE_S) plus a loaded machine
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{s.base}/healthz", timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(s.moto, timeout=2)


def test_what_failed_at_this_moment(stack: Stack):
    """Inject a provider failure for one workspace, then ask the 14:32 question two ways."""
    import os
    import subprocess
    import sys
    from datetime import datetime, timedelta

    auth = _workspace(stack)
    ws = requests.get(f"{stack.base}/v1/me", headers=auth, timeout=10).json()["workspace"]["id"]
    job = requests.post(
        f"{stack.base}/v1/jobs",
        headers={**auth, "X-Request-Id": "e2e-1432"},
        json={"prompt": "[fail:always] at this moment"},
        timeout=10,
    ).json()["job"]
    assert _finished(stack, auth, job["id"])["status"] == "failed"
    # Whole seconds, as an operator types them: round up so `to` is not before the job's created_at.
    at = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = requests.get(
        f"{stack.base}/admin/api/jobs",
        headers=stack.admin(),
        params={"workspace_id": ws, "status": "failed", "from": job["created_at"], "to": at},
        timeout=10,
    )
    assert [j["id"] for j in r.json()["data"]] == [job["id"]]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": stack.moto,
        "TABLE_PREFIX": "imagegen-local",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    out = subprocess.run(
        [sys.executable, "-m", "chalicelib.ops", "failures", "--workspace", ws, "--at", at, "--window", "10m"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    report = json.loads(out[out.index('{\n  "failed_jobs"') :].split("\n# Logs Insights")[0])
    row = report["failed_jobs"][0]
    assert row["job_id"] == job["id"] and row["error"]["code"] == "provider_error"
    assert row["correlation_id"] == "e2e-1432" and row["timings"]["provider_ms"] >= 0
    assert "Logs Insights" in out


def test_64_concurrent_clients_see_no_transport_error(stack: Stack):
    """The local API's listen backlog holds them all (socketserver's default of 5 reset 16-39 of 64)."""
    import threading

    auth = _workspace(stack, plan="enterprise")
    barrier = threading.Barrier(64)
    answers: list[int] = []
    failures: list[str] = []

    def one(i: int) -> None:
        barrier.wait()
        try:
            if i % 2:
                r = requests.get(f"{stack.base}/v1/me", headers=auth, timeout=(0.75, 60))
            else:
                r = requests.get(f"{stack.base}/v1/jobs?limit=5", headers=auth, timeout=(0.75, 60))
            answers.append(r.status_code)
        except requests.RequestException as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and answers == [200] * 64


def test_unknown_routes_and_methods_answer_in_the_envelope(stack: Stack):
    auth = _workspace(stack)
    r = requests.get(f"{stack.base}/v1/nothing-here", headers=auth, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert r.json()["error"]["request_id"] == r.headers["X-Request-Id"]
    assert auth["Authorization"].split()[1] not in r.text and "Missing Authentication Token" not in r.text
    r = requests.request("TRACE", f"{stack.base}/v1/jobs", headers=auth, timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] and r.json()["error"]["code"] == "method_not_allowed"
    page = requests.get(f"{stack.base}/v1/jobs?cursor=forged.cursor", headers=auth, timeout=10)
    assert page.status_code == 400 and page.json()["error"]["field"] == "cursor"
