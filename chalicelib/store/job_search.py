"""Jobs across workspaces for operators: "what failed between 14:30 and 14:40?", without a scan.

By workspace it is a key range of the workspace's jobs (ULID ids sort by creation); platform-wide
it is the `by_status_shard` index, one status at a time: a page queries the status's
JOB_STATUS_SHARDS shards in parallel (keys only), merges them newest first and fetches the page's
jobs in one BatchGetItem per 100, so a page costs JOB_STATUS_SHARDS + 1 requests whatever the
table's size. The admin API and the operator CLI (`chalicelib.ops`) both read through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.store.fanout import fan_out
from chalicelib.store.models import JOB_STATUS_SHARDS, JobModel, job_status_shard


def _id_range(start: datetime, end: datetime) -> Any:
    low = f"job_{ids.ulid_bound(start, upper=False)}"
    high = f"job_{ids.ulid_bound(end, upper=True)}"
    return JobModel.job_id.between(low, high)


def find_jobs(
    workspace_id: str | None, status: str | None, start: datetime, end: datetime, limit: int, cursor: dict[str, Any] | None = None
) -> tuple[list[JobModel], dict[str, Any] | None]:
    """Jobs created in [start, end], newest first, of one workspace (optionally of one status) or
    of one status platform-wide; with where the next page starts. One of the two is required."""
    if workspace_id:
        condition = JobModel.status == status if status else None
        result = JobModel.query(
            workspace_id,
            _id_range(start, end),
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=cursor,
        )
    elif status:
        return _by_status(status, start, end, limit, str((cursor or {}).get("job_id") or ""))
    else:
        raise ValueError("find_jobs needs a workspace_id or a status")
    return list(result), result.last_evaluated_key


def _by_status(
    status: str, start: datetime, end: datetime, limit: int, before: str
) -> tuple[list[JobModel], dict[str, Any] | None]:
    """A page of one status's jobs platform-wide, newest first, older than the job id `before`."""
    low = f"job_{ids.ulid_bound(start, upper=False)}"
    high = f"job_{ids.ulid_bound(end, upper=True)}"
    if before:
        high = min(high, before)

    def read(shard: int) -> tuple[list[tuple[str, str]], bool]:
        key = job_status_shard(status, "", shard)
        result = JobModel.by_status.query(key, JobModel.job_id.between(low, high), scan_index_forward=False, limit=limit + 1)
        rows = [(row.workspace_id, row.job_id) for row in result]
        return rows, result.last_evaluated_key is not None

    shards = fan_out(read, range(JOB_STATUS_SHARDS))
    keys = sorted((k for rows, _ in shards for k in rows if k[1] != before), key=lambda k: k[1], reverse=True)
    page = keys[:limit]
    more = len(keys) > limit or any(truncated for _, truncated in shards)
    found = {job.job_id: job for job in JobModel.batch_get(page)}
    jobs = [found[job_id] for _, job_id in page if job_id in found]
    return jobs, ({"job_id": page[-1][1]} if more and page else None)


def latest(workspace_id: str, limit: int) -> list[JobModel]:
    """A workspace's newest jobs."""
    return list(JobModel.query(workspace_id, scan_index_forward=False, limit=limit))
