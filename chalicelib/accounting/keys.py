"""Key shapes of the accounting items (one place, so readers and writers agree)."""

from __future__ import annotations

import zlib

ROLLUP_SHARDS = 4
HOLD_SHARDS = 4


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
    return f"open#{shard(job_id, HOLD_SHARDS)}"


def rollup_keys(workspace_id: str, user_id: str, provider: str, model: str, day: str, job_id: str) -> list[tuple[str, str]]:
    """Every daily rollup a settled job adds to (workspace, provider, user, platform)."""
    platform = shard(job_id, ROLLUP_SHARDS)  # spread the platform-wide hot items
    return [
        (f"WS#{workspace_id}", day),
        (f"WSP#{workspace_id}", f"{day}#{provider}#{model}"),
        (f"WSU#{workspace_id}", f"{day}#{user_id}"),
        (f"ALL#{platform}", day),
        (f"ALLP#{platform}", f"{day}#{provider}#{model}"),
        (f"ALLW#{day[:7]}", workspace_id),
    ]
