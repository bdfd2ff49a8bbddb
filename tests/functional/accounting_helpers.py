"""Build admission requests directly against the core (no HTTP) for the hammering tests."""

from __future__ import annotations

from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.admission import AdmissionRequest, admit_job
from chalicelib.accounting.plans import effective_limits
from chalicelib.store.models import JobModel, WorkspaceModel

UNLIMITED = {
    "requests_per_minute_user": 1_000_000,
    "requests_per_minute_workspace": 1_000_000,
    "requests_per_minute_key": 1_000_000,
    "credits_per_day": 1_000_000_000,
    "tokens_per_day": 1_000_000_000,
    "max_concurrent_jobs": 1_000_000,
    "max_queued_jobs": 1_000_000,
}


def new_job(tenant: Any, n: int = 1, provider: str = "local", model: str = "local-v1", prompt: str = "p") -> JobModel:
    now = clock.now()
    return JobModel(
        tenant.workspace_id,
        ids.new_id("job", now),
        user_id=tenant.user_id,
        key_id=tenant.key_id,
        status="queued",
        kind="generate",
        prompt=prompt,
        provider=provider,
        model=model,
        n=n,
        size="1024x1024",
        seed=1,
        params={},
        created_at=now,
        images=[],
        usage={},
        timings={},
    )


def admit(
    tenant: Any,
    n: int = 1,
    idempotency_key: str | None = None,
    request_hash: str = "h",
    workspace: WorkspaceModel | None = None,
    **job_kwargs: Any,
) -> Any:
    """Admit one job for `tenant` (pass `workspace` to skip reading it: benchmarks count requests)."""
    ws = workspace or WorkspaceModel.get(tenant.workspace_id)
    job = new_job(tenant, n=n, **job_kwargs)
    limits = effective_limits(ws.plan, ws.limits)
    key = idempotency_key or job.job_id
    return admit_job(AdmissionRequest(job, ws.plan, limits, key, request_hash, clock.now()))
