"""A job canceled while its message waits: the worker's conditional start refuses it cleanly."""

from __future__ import annotations

from chalicelib.generation.worker import run_job
from chalicelib.store.models import JobModel, WalletModel
from tests.functional.helpers import call, purge


def test_worker_skips_a_job_canceled_just_before_its_claim(api, make_tenant, monkeypatch):
    """The claim is a read, then one transaction conditioned on the job still being queued: a
    cancel that lands in between makes it fail, and the worker skips the job without charging
    or running it, and without taking a running slot."""
    purge()
    t = make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "race"})
    job_id = body["job"]["id"]
    real_get = JobModel.get.__func__
    reads = []

    def read_then_cancel(cls, *args, **kwargs):
        job = real_get(cls, *args, **kwargs)
        if job.job_id == job_id and not reads:  # the worker's claim starts with this read
            reads.append(1)
            call(api, "POST", f"/v1/jobs/{job_id}/cancel", t)
        return job

    monkeypatch.setattr(JobModel, "get", classmethod(read_then_cancel))
    assert run_job(t.workspace_id, job_id) == {"status": "canceled", "skipped": True}
    monkeypatch.setattr(JobModel, "get", classmethod(real_get))
    job = JobModel.get(t.workspace_id, job_id)
    assert job.status == "canceled" and not job.attempts and job.started_at is None
    assert call(api, "GET", "/v1/balance", t)[1]["held"] == 0
    wallet = WalletModel.get(t.workspace_id)
    assert int(wallet.running_jobs or 0) == 0 and int(wallet.active_jobs) == 0
    assert run_job(t.workspace_id, "job_01M00000000000000000000000") == {"status": "missing"}
    purge()


def test_a_record_that_failed_in_our_hands_comes_back_after_a_backoff(api, make_tenant, monkeypatch):
    """The jobs queue's visibility is sized for a run that times out (30 min in AWS); a record the
    worker itself failed (a provider outage outlasting its retries) is made visible again after
    30 s, 60 s, ... instead. Here the base is 2 s and the queue's own visibility 1 s."""
    import time

    from chalicelib.generation import worker
    from chalicelib.generation.providers import ProviderError
    from chalicelib.generation.providers.local import LocalProvider
    from tests.functional.helpers import receive, run_worker

    def outage(self, request):
        raise ProviderError("provider_unavailable", "down", retryable=True, retry_after_s=0)

    purge()
    monkeypatch.setattr(LocalProvider, "generate", outage)
    monkeypatch.setattr(worker, "RETRY_BASE_S", 2)
    t = make_tenant()
    call(api, "POST", "/v1/jobs", t, {"prompt": "outage"})
    messages = receive()
    result = run_worker(messages)
    assert result["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    time.sleep(1.2)  # past the queue's 1 s: without the backoff it would be visible again
    assert receive() == []
    time.sleep(1.5)
    again = receive()
    assert [m["MessageId"] for m in again] == [messages[0]["MessageId"]]
    assert worker.retry_delay_s(1) == 2 and worker.retry_delay_s(3) == 8
    from chalicelib.aws import client, queue_url
    from chalicelib.settings import get_settings

    client("sqs").delete_message(
        QueueUrl=queue_url(get_settings().jobs_queue_name), ReceiptHandle=again[0]["ReceiptHandle"]
    )  # in flight: purge() would not see it


def test_a_failed_record_comes_back_after_the_backoff_of_its_receive_count(monkeypatch):
    """The backoff grows with the record's own ApproximateReceiveCount (a record without one is a
    first delivery), on the queue the record came from."""
    import chalicelib.generation.worker as worker

    calls: list[dict[str, object]] = []

    class Sqs:
        def change_message_visibility(self, **request: object) -> None:
            calls.append(request)

    monkeypatch.setattr(worker, "client", lambda name: Sqs())
    monkeypatch.setattr(worker, "queue_url", lambda name: f"url-of:{name}")
    arn = "arn:aws:sqs:us-east-1:123456789012:imagegen-jobs"
    worker._retry_sooner({"attributes": {"ApproximateReceiveCount": "3"}, "eventSourceARN": arn, "receiptHandle": "third"})
    worker._retry_sooner({"attributes": {}, "eventSourceARN": arn, "receiptHandle": "first"})
    assert calls == [
        {"QueueUrl": "url-of:imagegen-jobs", "ReceiptHandle": "third", "VisibilityTimeout": worker.retry_delay_s(3)},
        {"QueueUrl": "url-of:imagegen-jobs", "ReceiptHandle": "first", "VisibilityTimeout": worker.retry_delay_s(1)},
    ]
