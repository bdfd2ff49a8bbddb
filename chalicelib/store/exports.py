"""Export persistence (ExportModel): the only code that touches export rows.

Status moves are conditional updates on the status they leave, written in one transaction with
the workspace's pending-export counter (store.library_index), so a slot is taken once when an
export is queued and given back once when it reaches ready or failed, whatever duplicate
messages, crashes or concurrent workers do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.store import library_index
from chalicelib.store.models import ExportModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

Cursor = dict[str, Any]
PENDING = ("queued", "running")
ROW_KEPT_S = 30 * 24 * 3600  # rows are kept 30 days after their zip is gone (TTL)


def get_export(workspace_id: str, export_id: str) -> ExportModel | None:
    try:
        return ExportModel.get(workspace_id, export_id, consistent_read=True)
    except ExportModel.DoesNotExist:
        return None


def create(export: ExportModel, max_pending: int, deadline: datetime) -> None:
    """The queued export, one of the workspace's pending slots (label "export_slot" fails when
    they are all taken) and its deadline in the due queue, together."""
    export.purge_at = int(deadline.timestamp()) + ROW_KEPT_S
    txn = Transaction()
    txn.put("export", export, ExportModel.export_id.does_not_exist())
    library_index.take_export_slot_in(txn, str(export.workspace_id), max_pending)
    library_index.put_due_in(txn, "export", str(export.workspace_id), str(export.export_id), deadline)
    txn.commit()


def newest(workspace_id: str, limit: int, cursor: Cursor | None) -> tuple[list[ExportModel], Cursor | None]:
    result = ExportModel.query(
        workspace_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor, consistent_read=True
    )
    return list(result), result.last_evaluated_key


def claim(export: ExportModel, now: datetime, lease_s: int) -> bool:
    """queued → running, or a running build whose lease ran out (its worker died): this caller
    owns the build until now + lease_s. False when another worker owns it or it is finished."""
    epoch = int(now.timestamp())
    free = (ExportModel.status == "queued") | (
        (ExportModel.status == "running") & (ExportModel.lease_until.does_not_exist() | (ExportModel.lease_until < epoch))
    )
    actions = [
        ExportModel.status.set("running"),
        ExportModel.lease_until.set(epoch + lease_s),
        ExportModel.attempts.add(1),
        ExportModel.started_at.set(ExportModel.started_at | now),
    ]
    return _update(export, actions, free)


def _update(export: ExportModel, actions: list[Any], condition: Any) -> bool:
    try:
        ExportModel(export.workspace_id, export.export_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def finish(export: ExportModel, status: str, attributes: dict[str, Any], due: tuple[str, datetime] | None = None) -> bool:
    """queued/running → `status` (ready or failed) with `attributes`, giving the pending slot back,
    and (for a ready zip) its deletion in the due queue. False when it had left queued/running."""
    txn = Transaction()
    actions = [ExportModel.status.set(status), ExportModel.lease_until.remove()]
    actions += [getattr(ExportModel, name).set(value) for name, value in sorted(attributes.items())]
    txn.update("export", ExportModel(export.workspace_id, export.export_id), actions, ExportModel.status.is_in(*PENDING))
    library_index.give_export_slot_in(txn, str(export.workspace_id))
    if due is not None:
        library_index.put_due_in(txn, due[0], str(export.workspace_id), str(export.export_id), due[1])
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


def mark_notified(export: ExportModel) -> None:
    """export.ready went out (a redelivery then emits nothing more)."""
    _update(export, [ExportModel.notified.set(True)], ExportModel.status == "ready")


def expire(export: ExportModel) -> bool:
    """ready → expired, once its zip is deleted."""
    return _update(export, [ExportModel.status.set("expired")], ExportModel.status == "ready")
