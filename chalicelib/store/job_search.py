"""Jobs across workspaces for operators: "what failed between 14:30 and 14:40?", without a scan.

By workspace it is a key range of the workspace's jobs (ULID ids sort by creation); platform-wide
it is the `by_status` index, one status at a time. The admin API and the operator CLI
(`chalicelib.ops`) both read through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.store.models import JobModel


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
        result = JobModel.by_status.query(
            status, _id_range(start, end), scan_index_forward=False, limit=limit, last_evaluated_key=cursor
        )
    else:
        raise ValueError("find_jobs needs a workspace_id or a status")
    return list(result), result.last_evaluated_key


def latest(workspace_id: str, limit: int) -> list[JobModel]:
    """A workspace's newest jobs."""
    return list(JobModel.query(workspace_id, scan_index_forward=False, limit=limit))
