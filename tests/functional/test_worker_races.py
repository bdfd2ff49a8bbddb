"""A job canceled while its message waits: the worker's conditional start refuses it cleanly."""

from __future__ import annotations

from chalicelib.generation.worker import run_job
from chalicelib.store.models import JobModel
from tests.functional.helpers import call, purge


def test_worker_skips_a_job_canceled_just_before_its_claim(api, make_tenant, monkeypatch):
    """The claim is one conditional UpdateItem (it also reads the job): a cancel that lands first
    makes it fail, and the worker skips the job without charging or running it."""
    purge()
    t = make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "race"})
    job_id = body["job"]["id"]
    real_update = JobModel.update
    claims = []

    def cancel_then_claim(self, *args, **kwargs):
        if self.job_id == job_id and not claims:  # the worker's claim is its first write to the job
            claims.append(1)
            call(api, "POST", f"/v1/jobs/{job_id}/cancel", t)
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(JobModel, "update", cancel_then_claim)
    assert run_job(t.workspace_id, job_id) == {"status": "canceled", "skipped": True}
    monkeypatch.setattr(JobModel, "update", real_update)
    job = JobModel.get(t.workspace_id, job_id)
    assert job.status == "canceled" and not job.attempts and job.started_at is None
    assert call(api, "GET", "/v1/balance", t)[1]["held"] == 0
    assert run_job(t.workspace_id, "job_01M00000000000000000000000") == {"status": "missing"}
    purge()
