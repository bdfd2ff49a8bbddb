"""Key shapes of the accounting items (one place, so readers and writers agree)."""

from __future__ import annotations

import zlib

# Shards of the platform-wide keys every job writes: at 10,000 jobs/s a key takes
# 10,000 x (its write units per job) / shards; 100 keeps each under 300 write units/s
# (DESIGN.md "Scale", measured by bench/scale.py). Readers query every shard in parallel.
ROLLUP_SHARDS = 100  # 2 units per settled job on each platform rollup (transactional)
HOLD_SHARDS = 100  # 2 units per job on the open-holds index: the hold enters, then leaves
ACTIVITY_SHARDS = 100  # 1 unit per workspace and month on `by_activity`, all at a month's start


def rate_key(scope: str, subject: str) -> str:
    return f"RL#{scope}#{subject}"


def quota_key(workspace_id: str, day: str) -> str:
    return f"Q#{workspace_id}#{day}"


def cap_key(quota: str, subject: str, period: str) -> str:
    """A spend-cap counter: `quota` (key_credits_per_day, ...) of a key or member in a day or month."""
    return f"CAP#{quota}#{subject}#{period}"


def hold_key(workspace_id: str, idempotency_key: str) -> str:
    return f"{workspace_id}#{idempotency_key}"


def shard(value: str, shards: int) -> int:
    return zlib.crc32(value.encode("utf-8")) % shards


def open_hold_shard(job_id: str) -> str:
    """The hold's key in the open-holds index (the sweeper reads `open#0`..`open#<HOLD_SHARDS-1>`)."""
    return f"open#{shard(job_id, HOLD_SHARDS)}"


def rollup_keys(workspace_id: str, user_id: str, provider: str, model: str, day: str, job_id: str) -> list[tuple[str, str]]:
    """Every daily rollup a settled job adds to (workspace, provider, user, platform).

    The platform's rollups are spread by the job: a shard holds a part of every day's totals
    (and of every workspace's month), so even the busiest workspace adds to no single key."""
    platform = shard(job_id, ROLLUP_SHARDS)
    return [
        (f"WS#{workspace_id}", day),
        (f"WSP#{workspace_id}", f"{day}#{provider}#{model}"),
        (f"WSU#{workspace_id}", f"{day}#{user_id}"),
        (f"ALL#{platform}", day),
        (f"ALLP#{platform}", f"{day}#{provider}#{model}"),
        (month_workspaces_key(day[:7], platform), workspace_id),
    ]


def month_workspaces_key(month: str, platform_shard: int | None) -> str:
    """A shard of the month's per-workspace totals; None: the unsharded key rows written before
    the shards existed (readers still add it)."""
    return f"ALLW#{month}" if platform_shard is None else f"ALLW#{month}#{platform_shard}"


def activity_key(period: str, workspace_id: str) -> str:
    """A wallet's `last_active` (the `by_activity` index key): the period of its last admission
    and a shard of the workspace, so a month's first admissions spread over ACTIVITY_SHARDS keys."""
    return f"{period}#{shard(workspace_id, ACTIVITY_SHARDS)}"


def activity_keys(period: str) -> list[str]:
    """Every `by_activity` key of a period: its shards, then the plain period that wallets last
    active before the shards existed still carry."""
    return [f"{period}#{n}" for n in range(ACTIVITY_SHARDS)] + [period]
