"""Creator earnings persistence: the account row (pools and the Stripe Connect account) and the
earnings ledger. The only code that touches `EarningsModel`.

Every change of a pool is an immutable entry written in the same transaction as the account's
ADD, carrying the deltas it made, so for every workspace `pending`, `available` and `paid_out`
each equal the sum of their deltas (`reconcile` checks it). Entries:

- sale: +net pending (written in the buyer's purchase transaction);
- matured: -net pending, +net available (the sale's holding period passed; the sale entry's
  status moves pending → matured under a condition, so maturing twice changes nothing);
- refund: -net from the pool the sale is in (pending, or available while it still holds it);
- payout: -amount available, +amount paid_out; payout_reversed: the opposite (Stripe refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.clock import iso
from chalicelib.store.models import EarningsModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

ACCOUNT = "account"
OPEN_PAYOUTS = "requested"  # the open-payouts index's one key (store.models.OpenPayouts)
POOLS = ("pending", "available", "paid_out")


@dataclass(frozen=True)
class Pools:
    pending: int = 0
    available: int = 0
    paid_out: int = 0


def _key(payout_key: str) -> str:
    return f"pay#{payout_key}"


def account(workspace_id: str) -> EarningsModel | None:
    try:
        return EarningsModel.get(workspace_id, ACCOUNT, consistent_read=True)
    except EarningsModel.DoesNotExist:
        return None


def pools(row: EarningsModel | None) -> Pools:
    if row is None:
        return Pools()
    return Pools(int(row.pending or 0), int(row.available or 0), int(row.paid_out or 0))


def _entry(workspace_id: str, entry_type: str, now: datetime, deltas: Pools, **fields: Any) -> EarningsModel:
    return EarningsModel(
        workspace_id,
        ids.new_id("ern", now),
        type=entry_type,
        pending_delta=deltas.pending,
        available_delta=deltas.available,
        paid_out_delta=deltas.paid_out,
        created_at=now,
        **fields,
    )


def _move_in(txn: Transaction, workspace_id: str, deltas: Pools, now: datetime, condition: Any = None) -> None:
    """ADD the deltas to the account row (created by the first sale)."""
    actions = [getattr(EarningsModel, name).add(getattr(deltas, name)) for name in POOLS if getattr(deltas, name)]
    txn.update("account", EarningsModel(workspace_id, ACCOUNT), [*actions, EarningsModel.updated_at.set(now)], condition)


# --- sales ----------------------------------------------------------------------------------


def sale_in(txn: Transaction, seller: str, net: int, *, listing_id: str, buyer: str, matures: datetime, now: datetime) -> str:
    """A sale's earnings, pending until `matures`; returns the sale entry's id."""
    entry = _entry(
        seller, "sale", now, Pools(pending=net), amount=net, status="pending", listing_id=listing_id,
        buyer_workspace_id=buyer, pending_ws=seller, matures_at=iso(matures),
    )  # fmt: skip
    txn.put("earning", entry, EarningsModel.entry_id.does_not_exist())
    _move_in(txn, seller, Pools(pending=net), now)
    return str(entry.entry_id)


def get_entry(workspace_id: str, entry_id: str) -> EarningsModel | None:
    try:
        return EarningsModel.get(workspace_id, entry_id, consistent_read=True)
    except EarningsModel.DoesNotExist:
        return None


def due_sales(workspace_id: str, now: datetime, limit: int = 100) -> list[EarningsModel]:
    """The workspace's pending sales whose holding period has passed (sparse index: no others)."""
    query = EarningsModel.by_pending.query(workspace_id, EarningsModel.matures_at <= iso(now), limit=limit)
    return list(query)


def mature(sale: EarningsModel, now: datetime) -> bool:
    """Move one sale from pending to available, once: False when it was matured (or refunded)
    by someone else meanwhile."""
    net, ws = int(sale.amount or 0), str(sale.workspace_id)
    txn = Transaction()
    txn.update(
        "sale",
        EarningsModel(ws, str(sale.entry_id)),
        [EarningsModel.status.set("matured"), EarningsModel.pending_ws.remove(), EarningsModel.updated_at.set(now)],
        EarningsModel.status == "pending",
    )
    moved = Pools(pending=-net, available=net)
    txn.put("entry", _entry(ws, "matured", now, moved, amount=net, source=str(sale.entry_id), listing_id=sale.listing_id))
    _move_in(txn, ws, moved, now)
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if "sale" in cancelled.failures:
            return False
        raise
    return True


def refund_in(txn: Transaction, sale: EarningsModel, actor: str, reason: str, now: datetime) -> None:
    """Take a sale's net back from the pool it is in; the sale becomes refunded (only once, and
    from `available` only while the pool still holds it)."""
    net, ws, status = int(sale.amount or 0), str(sale.workspace_id), str(sale.status)
    moved = Pools(pending=-net) if status == "pending" else Pools(available=-net)
    txn.update(
        "sale",
        EarningsModel(ws, str(sale.entry_id)),
        [EarningsModel.status.set("refunded"), EarningsModel.pending_ws.remove(), EarningsModel.updated_at.set(now)],
        EarningsModel.status == status,
    )
    entry = _entry(ws, "refund", now, moved, amount=-net, source=str(sale.entry_id), listing_id=sale.listing_id,
                   actor=actor, reason=reason)  # fmt: skip
    txn.put("earning", entry)
    guard = EarningsModel.available >= net if status == "matured" else None
    _move_in(txn, ws, moved, now, guard)


# --- Stripe Connect -------------------------------------------------------------------------


def set_connect_account(workspace_id: str, account_id: str, now: datetime) -> str:
    """Keep the workspace's connected account (the first one wins); returns the one kept."""
    txn = Transaction()
    txn.update(
        "account",
        EarningsModel(workspace_id, ACCOUNT),
        [EarningsModel.connect_account_id.set(account_id), EarningsModel.updated_at.set(now)],
        EarningsModel.connect_account_id.does_not_exist() | (EarningsModel.connect_account_id == account_id),
    )
    try:
        txn.commit()
    except TransactionCancelled:
        row = account(workspace_id)
        return str(row.connect_account_id) if row is not None else account_id
    return account_id


def apply_account_update(
    workspace_id: str, account_id: str, *, payouts_enabled: bool, details_submitted: bool, event_created: int,
    marker: Any, now: datetime,
) -> bool:  # fmt: skip
    """Apply an `account.updated` of the workspace's own account, if it is not older than the
    last one applied, with the event's marker (`marker(txn)` adds it); False otherwise."""
    txn = Transaction()
    newer = EarningsModel.account_event_at.does_not_exist() | (EarningsModel.account_event_at <= event_created)
    txn.update(
        "account",
        EarningsModel(workspace_id, ACCOUNT),
        [
            EarningsModel.payouts_enabled.set(payouts_enabled),
            EarningsModel.details_submitted.set(details_submitted),
            EarningsModel.account_event_at.set(event_created),
            EarningsModel.updated_at.set(now),
        ],
        (EarningsModel.connect_account_id == account_id) & newer,
    )
    marker(txn)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


# --- payouts --------------------------------------------------------------------------------


def get_payout(workspace_id: str, payout_key: str) -> EarningsModel | None:
    return get_entry(workspace_id, _key(payout_key))


def reserve_payout(
    workspace_id: str, payout_key: str, amount: int, cents: int, account_id: str, actor: str, now: datetime
) -> EarningsModel:
    """Move `amount` from available to paid_out and write the payout row, in one transaction,
    only while the account is the enabled one and holds the amount. Raises TransactionCancelled
    (labels: `account`: not enough or not enabled; `payout`: this key was used)."""
    moved = Pools(available=-amount, paid_out=amount)
    payout = EarningsModel(
        workspace_id, _key(payout_key), type="payout", status="requested", amount=amount, cents=cents,
        actor=actor, source=account_id, created_at=now, updated_at=now, open_payout=OPEN_PAYOUTS,
        requested_at=iso(now),
    )  # fmt: skip
    txn = Transaction()
    txn.put("payout", payout, EarningsModel.entry_id.does_not_exist())
    txn.put("entry", _entry(workspace_id, "payout", now, moved, amount=-amount, source=_key(payout_key), actor=actor))
    condition = (
        (EarningsModel.available >= amount)
        & (EarningsModel.payouts_enabled == True)  # noqa: E712 (a pynamodb condition, not a comparison)
        & (EarningsModel.connect_account_id == account_id)
    )
    _move_in(txn, workspace_id, moved, now, condition)
    txn.commit()
    return payout


def _closed() -> list[Any]:
    """A payout that is no longer requested leaves the open-payouts index."""
    return [EarningsModel.open_payout.remove(), EarningsModel.requested_at.remove()]


def stale_payouts(requested_before: datetime, limit: int) -> list[EarningsModel]:
    """Payouts still requested that were reserved before `requested_before`, oldest first
    (an eventually consistent index: re-read each before acting on it)."""
    query = EarningsModel.by_open_payout.query(OPEN_PAYOUTS, EarningsModel.requested_at < iso(requested_before), limit=limit)
    return list(query)


def mark_paid(payout: EarningsModel, transfer_id: str, now: datetime) -> bool:
    """The transfer exists: record it, once (False: it was recorded already)."""
    txn = Transaction()
    txn.update(
        "payout",
        payout,
        [
            EarningsModel.status.set("paid"),
            EarningsModel.transfer_id.set(transfer_id),
            EarningsModel.updated_at.set(now),
            *_closed(),
        ],
        EarningsModel.status == "requested",
    )
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


def reverse_payout(payout: EarningsModel, failure: str, now: datetime) -> bool:
    """Stripe refused the transfer for good: the amount goes back to available, once."""
    ws, amount = str(payout.workspace_id), int(payout.amount or 0)
    moved = Pools(available=amount, paid_out=-amount)
    txn = Transaction()
    txn.update(
        "payout",
        payout,
        [
            EarningsModel.status.set("failed"),
            EarningsModel.failure.set(failure[:500]),
            EarningsModel.updated_at.set(now),
            *_closed(),
        ],
        EarningsModel.status == "requested",
    )
    txn.put("entry", _entry(ws, "payout_reversed", now, moved, amount=amount, source=str(payout.entry_id), reason=failure[:500]))
    _move_in(txn, ws, moved, now)
    try:
        txn.commit()
    except TransactionCancelled:
        return False
    return True


# --- reconciliation -------------------------------------------------------------------------


def reconcile(workspace_id: str) -> tuple[Pools, Pools]:
    """(the account's pools, the sums of its entries' deltas): equal when nothing drifted."""
    stored = pools(account(workspace_id))
    sums = {name: 0 for name in POOLS}
    for row in EarningsModel.query(workspace_id, EarningsModel.entry_id.startswith("ern_"), consistent_read=True):
        for name in POOLS:
            sums[name] += int(getattr(row, f"{name}_delta") or 0)
    return stored, Pools(**sums)
