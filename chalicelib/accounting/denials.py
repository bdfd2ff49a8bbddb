"""Refused admissions, recorded for operators ("what was denied for workspace X at 14:32?").

A denial writes nothing in the accounting transaction (it was cancelled), so the record is a
separate, best-effort write after the fact: losing one never changes a balance.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import ids
from chalicelib.accounting.periods import day_of, days_between
from chalicelib.observability import count, logger
from chalicelib.store.models import DenialModel

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
        DenialModel(
            workspace_id,
            ids.new_id("den", now),
            day=day_of(now),
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
    rows: list[DenialModel] = []
    for day in reversed(days_between(start, end)):
        rows.extend(
            DenialModel.by_day.query(
                day, DenialModel.denial_id.between(low, high), scan_index_forward=False, limit=limit - len(rows)
            )
        )
        if len(rows) >= limit:
            break
    return rows
