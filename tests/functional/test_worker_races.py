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
