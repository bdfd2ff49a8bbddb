"""Job persistence: the generation jobs of a workspace, read and written by name.

A job's row is written by admission (in its transaction), moved to running by
`accounting.running`, and finished by settlement or a release; the functions here are the
other reads and writes the API and the worker make.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.store.models import JobModel

TERMINAL = frozenset({"succeeded", "failed", "canceled"})  # a job in one of these never changes again

Cursor = dict[str, Any]  # a DynamoDB LastEvaluatedKey


def get_job(workspace_id: str, job_id: str) -> JobModel | None:
    """The job, read consistently (a job just admitted or finished shows at once), or None."""
    try:
        return JobModel.get(workspace_id, job_id, consistent_read=True)
    except JobModel.DoesNotExist:
        return None


def job_ref(workspace_id: str, job_id: str) -> JobModel:
    """A handle on a job by its key alone, for a conditional update that needs no read."""
    return JobModel(workspace_id, job_id)


def newest_jobs(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[JobModel], Cursor | None]:
    """A page of the workspace's jobs, newest first (ULID keys sort by time), read consistently.
    Only `job_…` rows: a training's row (`trn_…`, store/trainings.py) shares the table, not the listing."""
    result = JobModel.query(
        workspace_id,
        JobModel.job_id.startswith("job_"),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursor,
        consistent_read=True,
    )
    return list(result), result.last_evaluated_key


def new_job(
    workspace_id: str,
    job_id: str,
    *,
    user_id: str,
    key_id: str | None,
    kind: str,
    prompt: str,
    provider: str,
    model: str,
    n: int,
    size: str,
    seed: int,
    params: dict[str, Any],
    correlation_id: str | None,
    created_at: datetime,
) -> JobModel:
    """A queued job's row, not yet written: admission writes it in its own transaction."""
    return JobModel(
        workspace_id,
        job_id,
        user_id=user_id,
        key_id=key_id,
        status="queued",
        kind=kind,
        prompt=prompt,
        provider=provider,
        model=model,
        n=n,
        size=size,
        seed=seed,
        params=params,
        correlation_id=correlation_id,
        created_at=created_at,
        images=[],
        usage={},
        timings={},
    )


def save_timings(job: JobModel, timings: dict[str, int]) -> None:
    """Replace the job's timing waterfall (one small write outside any transaction)."""
    job.update(actions=[JobModel.timings.set(timings)])


def still_queued() -> Condition:
    """The condition that the job has not started (a cancel must not release a running job)."""
    return JobModel.status == "queued"


def unfinished() -> Condition:
    """The condition that the job has not ended (a release must not end it twice)."""
    return ~JobModel.status.is_in(*TERMINAL)


def set_template(job: JobModel, template_id: str, version: int, notice: str | None) -> None:
    """Record on a job row not yet written which template version its prompt came from."""
    job.template_id, job.template_version, job.template_notice = template_id, version, notice
