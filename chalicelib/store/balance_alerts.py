"""Low-balance state persistence: the alert row and its flips, each checked against the wallet.

A flip is one transaction: a condition on the wallet (still below, or back at or above, the
threshold) so a stale reading never flips it, the alert row under a condition on its own state
and crossing number (one of racing checks wins), and, for a crossing, the outbox row of its
balance.low event (written once: its id is derived from the crossing number).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.store.models import BalanceAlertModel, WalletModel, WebhookEventModel
from chalicelib.store.transaction import Transaction, TransactionCancelled


def read(workspace_id: str) -> tuple[int | None, BalanceAlertModel]:
    """The wallet's available credits (None: no wallet) and the alert state (armed when new)."""
    try:
        available: int | None = int(
            WalletModel.get(workspace_id, consistent_read=True, attributes_to_get=["available"]).available
        )
    except WalletModel.DoesNotExist:
        available = None
    try:
        alert = BalanceAlertModel.get(workspace_id, consistent_read=True)
    except BalanceAlertModel.DoesNotExist:
        alert = BalanceAlertModel(workspace_id, low=False, crossings=0)
    return available, alert


def _unchanged(alert: BalanceAlertModel, low: bool) -> Any:
    """The alert is still as it was read: same crossing number, same state."""
    if int(alert.crossings or 0) == 0 and not low:
        return BalanceAlertModel.workspace_id.does_not_exist() | (
            (BalanceAlertModel.crossings == 0) & (BalanceAlertModel.low == False)  # noqa: E712
        )
    return (BalanceAlertModel.crossings == int(alert.crossings)) & (BalanceAlertModel.low == low)


def flip_low(alert: BalanceAlertModel, threshold: int, event: WebhookEventModel, now: datetime) -> bool:
    """Crossing number `crossings + 1`: low, with its event's outbox row; False when the wallet
    is no longer below `threshold` or another check flipped it first."""
    txn = Transaction()
    txn.check("wallet", WalletModel, alert.workspace_id, condition=WalletModel.available < threshold)
    actions = [
        BalanceAlertModel.low.set(True),
        BalanceAlertModel.crossings.set(int(alert.crossings or 0) + 1),
        BalanceAlertModel.threshold.set(threshold),
        BalanceAlertModel.changed_at.set(now),
    ]
    txn.update("alert", BalanceAlertModel(alert.workspace_id), actions, _unchanged(alert, False))
    txn.put("event", event, WebhookEventModel.event_id.does_not_exist())
    return _commit(txn)


def rearm(alert: BalanceAlertModel, threshold: int, now: datetime) -> bool:
    """Armed again (the next fall below is a new crossing); False when the wallet fell back below
    `threshold` or another check re-armed it first."""
    txn = Transaction()
    txn.check("wallet", WalletModel, alert.workspace_id, condition=WalletModel.available >= threshold)
    txn.update(
        "alert",
        BalanceAlertModel(alert.workspace_id),
        [BalanceAlertModel.low.set(False), BalanceAlertModel.changed_at.set(now)],
        _unchanged(alert, True),
    )
    return _commit(txn)


def _commit(txn: Transaction) -> bool:
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True
