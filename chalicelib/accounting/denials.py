"""Refused admissions, recorded for operators ("what was denied for workspace X at 14:32?").

A denial writes nothing in the accounting transaction (it was cancelled), so the record is a
separate, best-effort write after the fact: losing one never changes a balance.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import ids
from chalicelib.accounting.periods import day_of
from chalicelib.observability import count, logger
from chalicelib.store.fanout import fan_out
from chalicelib.store.models import DENIAL_SHARDS, DenialModel, denial_shard

RETENTION_DAYS = 90


def record_denial(
    workspace_id: str,
    code: str,
    now: datetime,
    *,
    user_id: str | None = None,
    key_id: str | None = None,
    scope: str | None = None,
    provider: str | None = None,
    message: str | None = None,
    request_id: str | None = None,
) -> None:
    """Store one denial and count it (metric by reason); never raises."""
    count("AdmissionsDenied", reason=code, scope=scope or "-")
    try:
        denial_id = ids.new_id("den", now)
        DenialModel(
            workspace_id,
            denial_id,
            day=day_of(now),
            denial_shard=denial_shard(denial_id),
            user_id=user_id,
            key_id=key_id,
            code=code,
            scope=scope,
            provider=provider,
            message=message,
            request_id=request_id,
            created_at=now,
            expires_at=int((now + timedelta(days=RETENTION_DAYS)).timestamp()),
        ).save()
    except Exception:  # bookkeeping must never turn a 429 into a 500
        logger.exception("could not record denial", extra={"error_code": "denial_record_failed"})


def find_denials(workspace_id: str | None, start: datetime, end: datetime, limit: int = 100) -> list[DenialModel]:
    """Denials in [start, end], newest first, for one workspace or the whole platform."""
    low = f"den_{ids.ulid_bound(start, upper=False)}"
    high = f"den_{ids.ulid_bound(end, upper=True)}"
    if workspace_id:
        return list(
            DenialModel.query(workspace_id, DenialModel.denial_id.between(low, high), scan_index_forward=False, limit=limit)
        )
    return _platform_denials(low, high, limit)


def _platform_denials(low: str, high: str, limit: int) -> list[DenialModel]:
    """The newest `limit` denials with ids in [low, high]: every shard (DENIAL_SHARDS queries, in
    parallel, whatever the range), merged newest first."""

    def read(shard: int) -> list[DenialModel]:
        condition = DenialModel.denial_id.between(low, high)
        return list(DenialModel.by_shard.query(denial_shard("", shard), condition, scan_index_forward=False, limit=limit))

    merged = [row for rows in fan_out(read, range(DENIAL_SHARDS)) for row in rows]
    merged.sort(key=lambda d: d.denial_id, reverse=True)
    return merged[:limit]
