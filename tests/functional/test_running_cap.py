"""Queue instead of refusing: admission accepts up to `max_queued_jobs`, the worker runs at most
`max_concurrent_jobs` of a workspace at once and makes the rest wait (deferred, not failed).

The slot a running job holds is given back exactly once, whichever path ends the job:
settlement, a provider failure, the DLQ, the stale-hold sweeper, or a release that read the
job before a worker claimed it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.accounting.ledger import get_wallet, reconcile_wallet
from chalicelib.accounting.maintenance import release_stale_holds
from chalicelib.accounting.running import start_job
from chalicelib.accounting.settlement import JobFinal, release_job
from chalicelib.store.models import JobModel, WalletModel
from tests.functional.accounting_helpers import UNLIMITED, admit
from tests.functional.helpers import call, purge, receive, run_worker

CAPPED = {**UNLIMITED, "max_concurrent_jobs": 2, "max_queued_jobs": 6}


@pytest.fixture()
def quick_defer(monkeypatch: Any) -> None:
    monkeypatch.setattr("chalicelib.accounting.running.defer_seconds", lambda: 1)


def _run_until_done(job_ids: list[str], workspace_id: str, rounds: int = 40) -> list[dict[str, Any]]:
    """Feed every visible message to the worker (one batch at a time) until the jobs finish;
    returns each batch's per-record results as the worker reported them."""
    from chalicelib.aws import client, queue_url
    from chalicelib.settings import get_settings

    url = queue_url(get_settings().jobs_queue_name)
    batches: list[dict[str, Any]] = []
    for _ in range(rounds):
        if all(JobModel.get(workspace_id, j, consistent_read=True).status == "succeeded" for j in job_ids):
            return batches
        messages = receive()
        if not messages:
            time.sleep(0.5)
            continue
        batches.append(run_worker(messages))
        client("sqs").delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    raise AssertionError("jobs did not finish")


def test_five_jobs_on_a_cap_of_two_all_run_never_more_than_two_at_once(api, make_tenant, quick_defer, monkeypatch):
    purge()
    t = make_tenant(limits=CAPPED)
    running_seen: list[int] = []
    real_start = start_job

    def observing_start(workspace_id: str, job_id: str, now: Any) -> Any:
        start = real_start(workspace_id, job_id, now)
        running_seen.append(int(WalletModel.get(workspace_id, consistent_read=True).running_jobs or 0))
        return start

    monkeypatch.setattr("chalicelib.accounting.running.start_job", observing_start)
    job_ids = []
    for n in range(5):
        status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": f"fox {n} [slow:400]"})
        assert status == 202, body
        job_ids.append(body["job"]["id"])
    _run_until_done(job_ids, t.workspace_id)
    assert max(running_seen) <= 2 and len(running_seen) > 5  # some jobs had to wait and came back
    for job_id in job_ids:
        job = JobModel.get(t.workspace_id, job_id)
        assert job.status == "succeeded" and job.slot is None and job.error is None
    wallet = get_wallet(t.workspace_id)
    assert (int(wallet.running_jobs), int(wallet.active_jobs), int(wallet.held)) == (0, 0, 0)
    assert reconcile_wallet(t.workspace_id).ok


def test_past_the_queued_cap_the_answer_is_429_scope_queue(api, make_tenant):
    purge()
    t = make_tenant(limits=CAPPED)
    for n in range(6):
        assert call(api, "POST", "/v1/jobs", t, {"prompt": f"p{n}"})[0] == 202
    status, body, headers = call(api, "POST", "/v1/jobs", t, {"prompt": "one too many"})
    assert status == 429
    assert body["error"]["code"] == "rate_limited" and body["error"]["scope"] == "queue"
    assert "6 jobs are already queued or running" in body["error"]["message"]
    assert int(headers["Retry-After"]) >= 1
    assert int(get_wallet(t.workspace_id).active_jobs) == 6
    purge()


def test_a_deferred_job_is_not_cached_as_done_by_idempotency(api, make_tenant, quick_defer):
    """A deferral leaves no Idempotency record: the job's next message runs it."""
    purge()
    t = make_tenant(limits={**CAPPED, "max_concurrent_jobs": 1})
    first = admit(t)
    second = admit(t)
    assert start_job(t.workspace_id, first.job_id, clock.now()).outcome == "started"
    from chalicelib.generation import queue
    from chalicelib.generation.messages import JobMessage

    queue.enqueue_job(JobMessage(t.workspace_id, second.job_id))
    result = run_worker(receive())
    assert result == {"batchItemFailures": []}
    assert JobModel.get(t.workspace_id, second.job_id).status == "queued"
    assert JobModel.get(t.workspace_id, second.job_id).deferred_at is not None
    now = clock.now()
    release_job(JobModel.get(t.workspace_id, first.job_id, consistent_read=True), JobFinal("failed", now), now, reason="test")
    _run_until_done([second.job_id], t.workspace_id)
    assert int(get_wallet(t.workspace_id).running_jobs) == 0


def test_every_path_that_ends_a_running_job_gives_its_slot_back_once(api, make_tenant):
    purge()
    t = make_tenant(limits=CAPPED)
    for reason in ("failed", "dead_lettered", "stale_hold"):
        admission = admit(t)
        assert start_job(t.workspace_id, admission.job_id, clock.now()).outcome == "started"
        assert int(get_wallet(t.workspace_id).running_jobs) == 1
        job = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)
        now = clock.now()
        for _ in range(2):  # the second release finds the hold resolved and changes nothing
            release_job(job, JobFinal("failed", now), now, reason=reason)
        assert int(get_wallet(t.workspace_id).running_jobs) == 0
        late = start_job(t.workspace_id, admission.job_id, clock.now())  # a late redelivery of the ended job
        assert (late.outcome, late.runs, late.job is not None and late.job.status) == ("skipped", False, "failed")
    assert reconcile_wallet(t.workspace_id).ok


def test_a_release_that_read_the_job_before_the_worker_claimed_it_still_returns_the_slot(make_tenant):
    t = make_tenant(limits=CAPPED)
    admission = admit(t)
    stale = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)  # queued, no slot
    assert start_job(t.workspace_id, admission.job_id, clock.now()).outcome == "started"
    now = clock.now()
    outcome = release_job(
        stale,
        JobFinal("failed", now),
        now,
        reason="dead_lettered",
        job_condition=~JobModel.status.is_in("succeeded", "failed", "canceled"),
    )
    assert outcome.applied
    wallet = get_wallet(t.workspace_id)
    assert (int(wallet.running_jobs), int(wallet.held)) == (0, 0)


def test_a_cancel_that_read_the_job_before_the_claim_is_refused_and_the_slot_stays(make_tenant):
    t = make_tenant(limits=CAPPED)
    admission = admit(t)
    stale = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)
    start_job(t.workspace_id, admission.job_id, clock.now())
    now = clock.now()
    outcome = release_job(stale, JobFinal("canceled", now), now, reason="canceled", job_condition=JobModel.status == "queued")
    assert not outcome.applied
    assert int(get_wallet(t.workspace_id).running_jobs) == 1  # the running job keeps its slot


def test_the_sweeper_leaves_a_job_that_waits_on_purpose(make_tenant, frozen_clock):
    from chalicelib.accounting.running import mark_deferred

    t = make_tenant(limits=CAPPED)
    admission = admit(t)
    frozen_clock.advance(hours=2)
    mark_deferred(JobModel.get(t.workspace_id, admission.job_id), clock.now())
    assert admission.job_id not in release_stale_holds(clock.now(), max_age_s=3600)
    frozen_clock.advance(minutes=16)  # no deferral since: its message was lost
    assert admission.job_id in release_stale_holds(clock.now(), max_age_s=3600)
    assert int(get_wallet(t.workspace_id).held) == 0


def test_a_settlement_that_read_the_job_before_the_claim_still_writes_its_images_and_counts_them(make_tenant):
    """The slot moved under the settling worker: settlement decides again on the job as it is
    now, and the images it carries (rows and the library's usage counters) go with that retry."""
    from chalicelib.accounting.settlement import Usage, settle_job
    from chalicelib.generation.worker import library_counters
    from chalicelib.store import images as image_store
    from chalicelib.store import library_index

    t = make_tenant(limits=CAPPED)
    admission = admit(t)
    stale = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)  # queued, no slot
    assert start_job(t.workspace_id, admission.job_id, clock.now()).outcome == "started"
    now = clock.now()
    row = image_store.new_image(
        t.workspace_id,
        "img_race0000000000000000001",
        job_id=admission.job_id,
        user_id=stale.user_id,
        s3_key=f"images/{t.workspace_id}/x.png",
        width=64,
        height=64,
        content_type="image/png",
        size_bytes=1234,
        source_image_id=None,
        kind="generate",
        created_at=now,
        prompt="p",
    )
    counters = library_counters(stale, [row])
    outcome = settle_job(stale, Usage(images=1, credits=1), JobFinal("succeeded", now), now, image_rows=[row], counters=counters)
    assert outcome.applied
    assert image_store.get_image(t.workspace_id, "img_race0000000000000000001") is not None
    usage = library_index.usage(t.workspace_id)
    assert (usage.get(library_index.IMAGES), usage.get(library_index.IMAGE_BYTES)) == (1, 1234)
    wallet = get_wallet(t.workspace_id)
    assert (int(wallet.running_jobs), int(wallet.held)) == (0, 0)
    assert reconcile_wallet(t.workspace_id).ok
