"""The generation pipeline in-process: admission → queue → worker → S3 → settled job."""

from __future__ import annotations

import io
import urllib.request
from urllib.parse import parse_qs, urlparse

from PIL import Image

from chalicelib.generation import storage
from tests.functional.helpers import call, drain, purge, receive, run_worker


def test_job_runs_end_to_end(api, make_tenant):
    purge()
    t = make_tenant()
    status, body, headers = call(api, "POST", "/v1/jobs", t, {"prompt": "a red fox in snow", "n": 2, "size": "512x512"})
    assert status == 202, body
    job = body["job"]
    assert job["status"] == "queued" and job["usage"]["credits_reserved"] == 2
    assert headers["RateLimit-Limit"] and "X-Request-Id" in headers
    assert drain() == 1
    status, body, _ = call(api, "GET", f"/v1/jobs/{job['id']}", t)
    done = body["job"]
    assert done["status"] == "succeeded", done
    assert len(done["images"]) == 2 and done["usage"]["credits_charged"] == 2
    png = storage.get_image(storage.image_key(t.workspace_id, job["id"], 0))
    url = urlparse(done["images"][0]["url"])
    query = parse_qs(url.query)
    assert url.path.endswith("/" + storage.image_key(t.workspace_id, job["id"], 0))
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and int(query["X-Amz-Expires"][0]) > 0
    with urllib.request.urlopen(done["images"][0]["url"], timeout=10) as answer:  # moto serves it
        assert answer.read() == png
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (512, 512)
    status, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["held"] == 0 and balance["allowance"]["used"] == 2


def test_same_message_twice_makes_one_set_of_images(api, make_tenant):
    purge()
    t = make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "twice", "n": 1})
    messages = receive()
    assert len(messages) == 1
    first = run_worker(messages)
    second = run_worker(messages)  # the same record again (a duplicate delivery)
    assert first == second == {"batchItemFailures": []}
    _, ledger, _ = call(api, "GET", "/v1/ledger", t)
    charges = [e for e in ledger["data"] if e["type"] == "charge"]
    assert len(charges) == 1
    purge()


def test_cancel_queued_job_releases_hold_and_worker_skips(api, make_tenant):
    purge()
    t = make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "cancel me", "n": 3})
    job_id = body["job"]["id"]
    status, body, _ = call(api, "POST", f"/v1/jobs/{job_id}/cancel", t)
    assert status == 200 and body["job"]["status"] == "canceled"
    drain()
    _, body, _ = call(api, "GET", f"/v1/jobs/{job_id}", t)
    assert body["job"]["status"] == "canceled" and body["job"]["images"] == []
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["held"] == 0 and balance["allowance"]["used"] == 0
    status, body, _ = call(api, "POST", f"/v1/jobs/{job_id}/cancel", t)
    assert status == 409 and body["error"]["code"] == "conflict"


def test_list_newest_first_with_cursor(api, make_tenant):
    purge()
    t = make_tenant(limits={"max_concurrent_jobs": 20})
    ids = [call(api, "POST", "/v1/jobs", t, {"prompt": f"p{i}"})[1]["job"]["id"] for i in range(5)]
    status, page, _ = call(api, "GET", "/v1/jobs?limit=2", t)
    assert [j["id"] for j in page["data"]] == ids[::-1][:2] and page["next_cursor"]
    _, page2, _ = call(api, "GET", f"/v1/jobs?limit=2&cursor={page['next_cursor']}", t)
    assert [j["id"] for j in page2["data"]] == ids[::-1][2:4]
    purge()


def test_other_workspace_job_is_not_found(api, make_tenant):
    purge()
    a, b = make_tenant(), make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", a, {"prompt": "mine"})
    status, err, _ = call(api, "GET", f"/v1/jobs/{body['job']['id']}", b)
    assert status == 404 and err["error"]["code"] == "not_found"
    status, err, _ = call(api, "POST", f"/v1/jobs/{body['job']['id']}/cancel", b)
    assert status == 404
    purge()


def test_a_finished_job_keeps_its_whole_timing_waterfall(api, make_tenant):
    """Each step's milliseconds, as the admin page draws them; the settlement's own (written
    after it) within the time the worker took."""
    import time

    from chalicelib.store.models import JobModel
    from tests.functional.accounting_helpers import UNLIMITED

    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "timed", "n": 2})
    started = time.perf_counter()
    drain()
    worker_ms = (time.perf_counter() - started) * 1000
    timings = JobModel.get(t.workspace_id, body["job"]["id"], consistent_read=True).timings
    assert set(timings) == {"queue_wait_ms", "admission_ms", "provider_ms", "storage_ms", "settlement_ms"}, timings
    assert all(isinstance(v, int) and v >= 0 for v in timings.values()), timings
    assert timings["settlement_ms"] + timings["provider_ms"] + timings["storage_ms"] <= worker_ms, (timings, worker_ms)


def test_the_hold_entry_says_what_was_reserved(api, make_tenant):
    from tests.functional.accounting_helpers import UNLIMITED

    purge()
    t = make_tenant(limits=UNLIMITED)
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "two of them", "n": 2, "size": "512x512"})
    _, ledger, _ = call(api, "GET", "/v1/ledger", t)
    (hold,) = [e for e in ledger["data"] if e["type"] == "hold"]
    assert hold["details"] == {"n": 2, "size": "512x512", "kind": "generate", "tokens_reserved": 0}, hold
    purge()
