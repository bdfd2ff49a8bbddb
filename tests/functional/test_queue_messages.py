"""The jobs queue's edges: a message that is not a job message fails its record with a clear
log line (and is dropped from the DLQ), and the provider quota a deferred job took is given back."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock, observability
from chalicelib.accounting import plans, provider_quota
from chalicelib.accounting.running import start_job
from chalicelib.aws import client, queue_url
from chalicelib.generation import queue
from chalicelib.generation.messages import JobMessage
from chalicelib.generation.worker import handle_dead_letters
from chalicelib.settings import get_settings
from chalicelib.store.models import CounterModel, JobModel
from tests.functional.accounting_helpers import UNLIMITED, admit
from tests.functional.helpers import event_from, purge, receive, run_worker


def _logged(run: Any) -> list[dict[str, Any]]:
    """The JSON log lines written while `run()` ran."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(observability.logger.registered_formatter)
    observability.logger.addHandler(handler)
    level = observability.logger.log_level
    observability.logger.setLevel(logging.INFO)  # whatever level an earlier test left behind
    try:
        run()
    finally:
        observability.logger.removeHandler(handler)
        observability.logger.setLevel(level)
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_a_malformed_message_fails_its_record_with_a_clear_log(aws):
    purge()
    url = queue_url(get_settings().jobs_queue_name)
    client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"workspace_id": "ws_1", "job_id": "nope"}))
    messages = receive()
    results: list[dict[str, Any]] = []
    lines = _logged(lambda: results.append(run_worker(messages)))
    assert results == [{"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}]
    failure = next(line for line in lines if line.get("error_code") == "malformed_message")
    assert "no valid job id" in json.dumps(failure) and "KeyError" not in json.dumps(failure)
    client("sqs").delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])  # in flight


def test_the_dead_letter_handler_drops_a_malformed_message_and_releases_the_rest(make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    admission = admit(t)
    good = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": JobMessage(t.workspace_id, admission.job_id).body()}
    bad = {"MessageId": "m-2", "ReceiptHandle": "r-2", "Body": "{not json"}
    lines = _logged(lambda: handle_dead_letters(event_from([bad, good]), None))
    assert any(line.get("error_code") == "malformed_message" for line in lines)
    job = JobModel.get(t.workspace_id, admission.job_id, consistent_read=True)
    assert job.status == "failed" and job.error["code"] == "dead_lettered"
    assert handle_dead_letters(event_from([bad, good]), None) == {"released": 0}  # ended: nothing to release


def test_a_taken_provider_window_can_be_given_back(aws, monkeypatch, frozen_clock):
    frozen_clock.set(datetime(2032, 3, 9, 7, 13, 20, tzinfo=UTC))  # a provider window no other test uses
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(100_000, 3))
    first = provider_quota.take("local", 2, clock.now(), "job")
    assert first.taken and first.wait_s == 0
    full = provider_quota.take("local", 2, clock.now(), "job")
    assert not full.taken and 40 <= full.wait_s <= 45  # 40 s left in the minute, plus 1-5 s
    assert first.key is not None
    provider_quota.give_back(first.key, 2)
    assert int(CounterModel.get(first.key).n) == 0
    assert provider_quota.take("local", 3, clock.now(), "job").taken
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(100_000, None))
    assert provider_quota.take("local", 10_000, clock.now(), "job") == provider_quota.Slot(None, 0)


def test_a_job_deferred_for_its_running_cap_gives_its_provider_calls_back(api, make_tenant, monkeypatch, frozen_clock):
    frozen_clock.set(datetime(2032, 3, 9, 8, 2, 10, tzinfo=UTC))
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(100_000, 5))
    monkeypatch.setattr("chalicelib.accounting.running.defer_seconds", lambda: 0)  # purge() sees it again
    purge()
    t = make_tenant(limits={**UNLIMITED, "max_concurrent_jobs": 1})
    running, waiting = admit(t), admit(t)
    assert start_job(t.workspace_id, running.job_id, clock.now()).outcome == "started"
    queue.enqueue_job(JobMessage(t.workspace_id, waiting.job_id, provider="local", images=1))
    assert run_worker(receive()) == {"batchItemFailures": []}
    window, _ = provider_quota.window_of(clock.now())
    assert int(CounterModel.get(provider_quota.window_key("local", window)).n) == 0  # taken, then given back
    assert JobModel.get(t.workspace_id, waiting.job_id).status == "queued"
    purge()


def test_a_job_deferred_for_its_providers_quota_is_marked_as_waiting_on_purpose(api, make_tenant, monkeypatch, frozen_clock):
    """The provider's images for this minute are taken: the job goes back to the queue, still
    queued with its hold, and says it waits on purpose (so the stale-hold sweeper leaves it)."""
    frozen_clock.set(datetime(2032, 3, 9, 9, 4, 10, tzinfo=UTC))
    monkeypatch.setitem(plans.PROVIDER_QUOTAS, "local", plans.ProviderQuota(100_000, 1))
    purge()
    t = make_tenant(limits=UNLIMITED)
    waiting = admit(t)
    assert provider_quota.take("local", 1, clock.now(), "someone else").taken
    queue.enqueue_job(JobMessage(t.workspace_id, waiting.job_id, provider="local", images=1))
    assert run_worker(receive()) == {"batchItemFailures": []}
    job = JobModel.get(t.workspace_id, waiting.job_id, consistent_read=True)
    assert (job.status, job.deferred_at) == ("queued", clock.now())
    purge()
