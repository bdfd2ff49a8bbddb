"""The outbox of domain events: one row per event id, written once, fanned out once.

A row not yet fanned out carries `sweep_shard`/`sweep_after` (the sparse `pending` index): the
outbox sweeper sends it again once `sweep_after` has passed, so an event whose queue message was
never sent (a crash, a failed send) or whose fan-out died is delivered all the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.store.models import WebhookEventModel

KEEP_S = 30 * 24 * 3600  # events (and Zapier samples) are kept a month
# Every event written passes through the index twice (in, then out when fanned out): 100 shards
# keep each key under 200 writes/s at 10,000 events/s (DESIGN.md "Scale").
SWEEP_SHARDS = 100


def sweep_shard(event_id: str) -> str:
    return f"ob#{int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) % SWEEP_SHARDS}"


def row(
    workspace_id: str, event_id: str, event_type: str, data: dict[str, Any], at: datetime, sweep_after: int
) -> WebhookEventModel:
    """The outbox row of an event, pending (in the sweeper's index until fanned out)."""
    return WebhookEventModel(
        workspace_id,
        event_id,
        type=event_type,
        workspace_type=f"{workspace_id}#{event_type}",
        data=data,
        occurred_at=at,
        fanned_out=False,
        expires_at=int(at.timestamp()) + KEEP_S,
        sweep_shard=sweep_shard(event_id),
        sweep_after=sweep_after,
    )


def insert(workspace_id: str, event_id: str, event_type: str, data: dict[str, Any], at: datetime, sweep_after: int) -> bool:
    """Write the event once; False when an event with this id exists (a duplicate trigger)."""
    try:
        row(workspace_id, event_id, event_type, data, at, sweep_after).save(condition=WebhookEventModel.event_id.does_not_exist())
    except PutError as error:
        if _conditional(error):
            return False
        raise
    return True


def get(workspace_id: str, event_id: str) -> WebhookEventModel | None:
    try:
        return WebhookEventModel.get(workspace_id, event_id, consistent_read=True)
    except WebhookEventModel.DoesNotExist:
        return None


def mark_fanned_out(workspace_id: str, event_id: str) -> None:
    """Every matching endpoint has its delivery row: a duplicate trigger needs no new fan-out,
    and the sweeper no longer sees the event (a row that expired meanwhile is not recreated)."""
    try:
        WebhookEventModel(workspace_id, event_id).update(
            actions=[
                WebhookEventModel.fanned_out.set(True),
                WebhookEventModel.sweep_shard.remove(),
                WebhookEventModel.sweep_after.remove(),
            ],
            condition=WebhookEventModel.event_id.exists(),
        )
    except UpdateError as error:
        if not _conditional(error):
            raise


def due(now_epoch: int, limit: int) -> Iterator[WebhookEventModel]:
    """Events not fanned out whose `sweep_after` has passed, at most `limit` (one query per shard;
    the index is eventually consistent, so the claim re-checks)."""
    found = 0
    for shard in range(SWEEP_SHARDS):
        for event in WebhookEventModel.pending.query(
            f"ob#{shard}", WebhookEventModel.sweep_after <= now_epoch, limit=limit - found
        ):
            yield event
            found += 1
            if found >= limit:
                return


def claim_resend(event: WebhookEventModel, next_after: int) -> bool:
    """Take this round's re-send of a pending event: one sweeper wins (a scheduled run and an
    admin's "run now" never both send), and the next round waits until `next_after`."""
    try:
        event.update(
            actions=[WebhookEventModel.sweep_after.set(next_after)],
            condition=(WebhookEventModel.sweep_after == event.sweep_after) & (WebhookEventModel.fanned_out == False),  # noqa: E712
        )
    except UpdateError as error:
        if _conditional(error):
            return False
        raise
    return True


def _conditional(error: PutError | UpdateError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def newest_of_type(workspace_id: str, event_type: str, limit: int) -> list[WebhookEventModel]:
    """A workspace's newest events of one type (ids sort by time)."""
    return list(WebhookEventModel.by_type.query(f"{workspace_id}#{event_type}", scan_index_forward=False, limit=limit))
