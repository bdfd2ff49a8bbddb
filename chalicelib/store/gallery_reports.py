"""Report cases (ReportCaseModel): one row per reported (or moderated) image.

A report from a client the image has not heard from yet (gallery markers) adds one to its case,
in one UpdateItem; a platform admin's decision moves the case's status in the transaction that
hides the image, with its audit row. The admin listing reads the `by_status` index, in
REPORT_SHARDS partitions per status merged newest first: no Scan, no hot key. One image's case is
its own key: it takes a few hundred distinct reporters a second (each client counts once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.gallery import rules
from chalicelib.store import sharded_listing
from chalicelib.store.models import ReportCaseModel
from chalicelib.store.transaction import Transaction


def status_shard(status: str, image_id: str) -> str:
    return f"{status}#{rules.shard_of(image_id, rules.REPORT_SHARDS)}"


def get(image_id: str) -> ReportCaseModel | None:
    try:
        return ReportCaseModel.get(image_id, consistent_read=True)
    except ReportCaseModel.DoesNotExist:
        return None


def record_in(
    txn: Transaction, image_id: str, workspace_id: str, reason: str, note: str | None, key: str, now: datetime, *, reopen: bool
) -> None:
    """Add one report to the image's case (created on the first). With `reopen`, the case becomes
    open unless it is hidden (the transaction is then cancelled on "case": send it again without);
    without, its status stays as it is."""
    actions: list[Any] = [
        ReportCaseModel.workspace_id.set(workspace_id),
        ReportCaseModel.reports.add(1),
        ReportCaseModel.reasons.add({reason}),
        ReportCaseModel.last_key.set(key),
        ReportCaseModel.last_reported_at.set(now),
        ReportCaseModel.first_reported_at.set(ReportCaseModel.first_reported_at | now),
    ]
    if note:
        actions.append(ReportCaseModel.last_note.set(note))
    condition = None
    if reopen:
        actions += [ReportCaseModel.status.set("open"), ReportCaseModel.status_shard.set(status_shard("open", image_id))]
        condition = ReportCaseModel.status.does_not_exist() | (ReportCaseModel.status != rules.HIDDEN)
    txn.update("case", ReportCaseModel(image_id), actions, condition)


def decide_in(
    txn: Transaction, image_id: str, workspace_id: str, status: str, actor: str, reason: str, key: str, now: datetime
) -> None:
    """Set the case's status (creating the case when nobody reported the image), by whom and why."""
    actions: list[Any] = [
        ReportCaseModel.workspace_id.set(workspace_id),
        ReportCaseModel.status.set(status),
        ReportCaseModel.status_shard.set(status_shard(status, image_id)),
        ReportCaseModel.last_key.set(ReportCaseModel.last_key | key),
        ReportCaseModel.decided_by.set(actor),
        ReportCaseModel.decided_at.set(now),
        ReportCaseModel.decision_reason.set(reason),
    ]
    condition = None
    if status != rules.HIDDEN:  # a dismissal decides an open case only
        condition = ReportCaseModel.status == "open"
    txn.update("case", ReportCaseModel(image_id), actions, condition)


def status_page(status: str, limit: int, before: str | None) -> tuple[list[ReportCaseModel], str | None]:
    """Cases of one status below `before` (a report key), most recently reported first: one query
    per shard, merged (store.sharded_listing)."""
    listing = sharded_listing.Listing(ReportCaseModel, ReportCaseModel.by_status, "last_key")
    return sharded_listing.page(listing, [f"{status}#{n}" for n in range(rules.REPORT_SHARDS)], limit, before, None)
