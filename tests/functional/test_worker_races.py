"""A job canceled while its message waits: the worker's conditional start refuses it cleanly."""

from __future__ import annotations

from chalicelib.generation.worker import run_job
from chalicelib.store.models import JobModel
from tests.functional.helpers import call, purge


def test_worker_skips_a_job_canceled_after_it_was_read(api, make_tenant, monkeypatch):
    purge()
    t = make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "race"})
    job_id = body["job"]["id"]
    real_get = JobModel.get

    def get_then_cancel(*args, **kwargs):
        job = real_get(*args, **kwargs)
        call(api, "POST", f"/v1/jobs/{job_id}/cancel", t)  # lands between the read and the start
        return job

    monkeypatch.setattr(JobModel, "get", get_then_cancel)
    assert run_job(t.workspace_id, job_id) == {"status": "skipped"}
    monkeypatch.setattr(JobModel, "get", real_get)
    assert JobModel.get(t.workspace_id, job_id).status == "canceled"
    purge()
