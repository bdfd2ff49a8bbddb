"""The customer analytics' rollups (AnalyticsModel): written by settlement and release in their
one transaction, read as one range of one partition per call.

Keys: `AH#<workspace>` (hours, `2026-11-24T12`) and `AD#<workspace>` (days, `2026-11-24`), sort key
`<bucket>#<user>#<key or ->#<provider>#<model>`: one row per combination that finished jobs in
that hour or day, so a read costs O(buckets x combinations active in them), whatever the number
of jobs. Both partitions are the workspace's own (its ceiling, like the wallet's: DESIGN "Scale").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.analytics import histogram
from chalicelib.store.models import AnalyticsModel, JobModel
from chalicelib.store.transaction import Transaction

HOUR, DAY = "hour", "day"
PARTITION = {HOUR: "AH", DAY: "AD"}
NO_KEY = "-"
COUNTERS = ("jobs", "failed", "images", "credits", "cost_micro_usd", "input_tokens", "output_tokens")
TIMINGS = tuple(histogram.PREFIX)


def bucket_label(at: datetime, granularity: str) -> str:
    """The hour (`2026-11-24T12`) or day (`2026-11-24`) containing `at`, in UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H" if granularity == HOUR else "%Y-%m-%d")


def job_timings(job: JobModel, finished_at: datetime, timings: dict[str, int] | None) -> dict[str, int]:
    """The job's duration (admission to its end), queue wait and provider time, as known."""
    out = {"duration": max(0, int((finished_at - job.created_at).total_seconds() * 1000))}
    for name in ("queue_wait", "provider"):
        value = (timings or {}).get(f"{name}_ms")
        if isinstance(value, int) and value >= 0:
            out[name] = value
    return out


def add_in(txn: Transaction, job: JobModel, at: datetime, counts: dict[str, int], timings: dict[str, int]) -> None:
    """Add a finished job's counts and timings to its hour's and its day's row (two items)."""
    values = {name: int(value) for name, value in counts.items() if name in COUNTERS and value}
    for name, ms in timings.items():
        values[f"{name}_ms"] = ms
        values[histogram.attribute(name, histogram.bucket_of(ms))] = 1
    actions = [getattr(AnalyticsModel, name).add(value) for name, value in values.items() if value]
    if not actions:
        return
    combination = f"{job.user_id}#{job.key_id or NO_KEY}#{job.provider}#{job.model}"
    for granularity, prefix in PARTITION.items():
        row = AnalyticsModel(f"{prefix}#{job.workspace_id}", f"{bucket_label(at, granularity)}#{combination}")
        txn.update(f"analytics:{granularity}", row, actions)


@dataclass(frozen=True)
class Row:
    """One stored row, its key split into what it is about."""

    bucket: str
    user_id: str
    key_id: str | None
    provider: str
    model: str
    item: AnalyticsModel

    def counter(self, name: str) -> int:
        return int(getattr(self.item, name) or 0)

    def counts(self, timing: str) -> list[int]:
        return [int(getattr(self.item, histogram.attribute(timing, n)) or 0) for n in range(histogram.BUCKETS)]


def rows(workspace_id: str, granularity: str, first: str, last: str) -> Iterator[Row]:
    """The workspace's rows of the buckets `first`..`last` (labels, inclusive): one Query, paged."""
    found = AnalyticsModel.query(
        f"{PARTITION[granularity]}#{workspace_id}", AnalyticsModel.sort_key.between(f"{first}#", f"{last}#~")
    )
    for item in found:
        bucket, user_id, key_id, provider, model = str(item.sort_key).split("#", 4)
        yield Row(bucket, user_id, None if key_id == NO_KEY else key_id, provider, model, item)
