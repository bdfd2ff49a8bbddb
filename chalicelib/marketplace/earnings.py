"""Creator earnings and payouts: the pools, maturing by time, Stripe Connect onboarding, payouts
as Stripe transfers, and the Connect webhook that says when an account may receive them.

- **Maturing** is computed by time: a sale's earnings are `pending` for rules.HOLD_DAYS, then
  `available`. Every read of the earnings (and every payout) first moves the workspace's due
  sales, each in its own conditional transaction, so running it twice or concurrently moves
  each sale once.
- **Payouts**: the amount moves available → paid_out together with the payout row, under
  conditions (enough available, the account's `payouts_enabled`), then Stripe creates the
  transfer with the idempotency key `payout:<workspace>:<key>`. The key is the request's
  Idempotency-Key when given, so a retry after an unknown answer (503) finishes the same payout
  and never sends twice; a definite refusal puts the amount back (`payout_reversed`).
- **Connect webhooks** (`account.updated`): verified with stripe.Webhook.construct_event and the
  Connect secret; applied only to the workspace whose account it is, never older than the last
  one applied, once per event id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from chalicelib import clock
from chalicelib.billing.common import Result
from chalicelib.bootstrap import ready
from chalicelib.domain import Unavailable
from chalicelib.ids import new_id
from chalicelib.marketplace import connect, rules
from chalicelib.marketplace.errors import PayoutAmount, PayoutFailed, PayoutRefused
from chalicelib.marketplace.records import Earnings, PayoutRecord
from chalicelib.store import earnings as store
from chalicelib.store.models import EarningsModel, MarkerModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

MATURE_BATCH = 100


def mature_due(workspace_id: str) -> int:
    """Move every sale whose holding period passed from pending to available; how many moved."""
    now, moved = clock.now(), 0
    while True:
        due = store.due_sales(workspace_id, now, MATURE_BATCH)
        moved += sum(1 for sale in due if store.mature(sale, now))
        if len(due) < MATURE_BATCH:
            return moved


def earnings(workspace_id: str) -> Earnings:
    """The workspace's pools (due sales matured first) and its payout account's state."""
    mature_due(workspace_id)
    row = store.account(workspace_id)
    pools = store.pools(row)
    return Earnings(
        pending=pools.pending,
        available=pools.available,
        paid_out=pools.paid_out,
        hold_days=rules.HOLD_DAYS,
        payout_account=str(row.connect_account_id) if row is not None and row.connect_account_id else None,
        payouts_enabled=bool(row is not None and row.payouts_enabled),
    )


def onboarding(workspace_id: str) -> str:
    """An Express onboarding link for the workspace's connected account (created once)."""
    row = store.account(workspace_id)
    account_id = str(row.connect_account_id) if row is not None and row.connect_account_id else None
    if account_id is None:
        account_id = store.set_connect_account(workspace_id, connect.create_express_account(workspace_id), clock.now())
    return connect.onboarding_link(account_id)


def _payout_record(row: EarningsModel) -> PayoutRecord:
    return PayoutRecord(
        payout_id="po_" + str(row.entry_id).removeprefix("pay#"), amount=int(row.amount or 0), cents=int(row.cents or 0),
        currency=rules.PAYOUT_CURRENCY, status=str(row.status), transfer_id=row.transfer_id, created_at=row.created_at,
    )  # fmt: skip


def _payout_key(idempotency_key: str | None) -> str:
    """The payout's own key: from the request's Idempotency-Key (a retry finds the same payout), else new."""
    if idempotency_key is None:
        return new_id("po").removeprefix("po_")
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:26].upper()


def request_payout(workspace_id: str, amount: int, actor: str, idempotency_key: str | None) -> PayoutRecord:
    """Pay `amount` credits of available earnings out to the connected account, once."""
    if not rules.MIN_PAYOUT_CREDITS <= amount <= rules.MAX_PAYOUT_CREDITS:
        raise PayoutAmount(f"amount: {rules.MIN_PAYOUT_CREDITS}-{rules.MAX_PAYOUT_CREDITS} credits", field="amount")
    key = _payout_key(idempotency_key)
    earlier = store.get_payout(workspace_id, key)
    if earlier is not None:
        return _send(earlier) if earlier.status == "requested" else _payout_record(earlier)
    mature_due(workspace_id)
    row = store.account(workspace_id)
    check = rules.payout_eligibility(
        amount, store.pools(row).available, has_account=bool(row and row.connect_account_id),
        payouts_enabled=bool(row and row.payouts_enabled),
    )  # fmt: skip
    if not check.ok or row is None:
        raise PayoutRefused(check.message, reason=check.reason)
    try:
        payout = store.reserve_payout(
            workspace_id, key, amount, rules.payout_cents(amount), str(row.connect_account_id), actor, clock.now()
        )
    except TransactionCancelled as cancelled:
        if "payout" in cancelled.failures:
            again = store.get_payout(workspace_id, key)
            return _payout_record(again) if again is not None else request_payout(workspace_id, amount, actor, idempotency_key)
        raise PayoutRefused("the earnings or the payout account changed meanwhile; read them and retry") from None
    return _send(payout)


def _transfer(payout: EarningsModel) -> str:
    """Create the payout's transfer (the same idempotency key on every try) and record Stripe's
    answer: "paid", "returned" (refused: the credits are available again), or "" when another
    run recorded it first. Unavailable when Stripe's answer is unknown (the payout stays requested)."""
    ws, key = str(payout.workspace_id), str(payout.entry_id).removeprefix("pay#")
    try:
        transfer_id = connect.transfer(str(payout.source), int(payout.cents or 0), ws, f"po_{key}", f"payout:{ws}:{key}")
    except connect.TransferRefused as refused:
        return "returned" if store.reverse_payout(payout, str(refused), clock.now()) else ""
    return "paid" if store.mark_paid(payout, transfer_id, clock.now()) else ""


def _send(payout: EarningsModel) -> PayoutRecord:
    """Finish the payout (see _transfer) and answer it as it now is; PayoutFailed if refused."""
    _transfer(payout)
    done = store.get_payout(str(payout.workspace_id), str(payout.entry_id).removeprefix("pay#")) or payout
    if done.status == "failed":
        raise PayoutFailed(f"Stripe refused the transfer: {done.failure}; the credits are available again")
    return _payout_record(done)


# --- the payout sweeper ----------------------------------------------------------------------


def sweep_requested_payouts(now: datetime) -> dict[str, int]:
    """Finish the payouts a crash or a lost answer left `requested`: ask Stripe again with the
    payout's own idempotency key (Stripe answers the original transfer if it made one, so nothing
    is sent twice), then record it paid, or put the credits back if Stripe refuses. Safe to run
    twice or concurrently: every outcome is a conditional write on `status == requested`."""
    report = {"paid": 0, "returned": 0, "left": 0, "already": 0}
    for row in store.stale_payouts(now - rules.PAYOUT_SWEEP_AFTER, rules.PAYOUT_SWEEP_BATCH):
        ws, key = str(row.workspace_id), str(row.entry_id).removeprefix("pay#")
        payout = store.get_payout(ws, key)
        if payout is not None and payout.status == "requested":
            report[_finish(payout)] += 1
    return report


def _finish(payout: EarningsModel) -> str:
    """One swept payout's outcome: paid, returned (refused: credits available again), left
    (Stripe still not answering: the next run tries again) or already (another run finished it)."""
    try:
        return _transfer(payout) or "already"
    except Unavailable:
        return "left"


# --- the Connect webhook --------------------------------------------------------------------


def receive_connect(payload: bytes, signature: str | None) -> Result:
    """One Connect webhook delivery: verified (400 otherwise, nothing changes), then applied."""
    event = connect.verified_event(payload, signature)
    ready()
    if event["type"] not in connect.HANDLED_EVENTS:
        return Result("ignored", f"{event['type']} is not handled")
    data = event.get("data")
    state = connect.account_state(data.get("object") if isinstance(data, dict) else None)
    created = event.get("created")
    if state is None or state.workspace_id is None or not isinstance(created, int) or isinstance(created, bool):
        return Result("ignored", "not an account of ours")
    return _apply_account(event["id"], state, created)


def _apply_account(event_id: str, state: connect.AccountState, created: int) -> Result:
    marker_id = f"stripe_connect_event:{event_id}"

    def marker(txn: Transaction) -> None:
        row = MarkerModel(marker_id, data={"workspace_id": state.workspace_id}, created_at=clock.now())
        txn.put("marker", row, MarkerModel.marker.does_not_exist())

    applied = store.apply_account_update(
        str(state.workspace_id), state.account_id, payouts_enabled=state.payouts_enabled,
        details_submitted=state.details_submitted, event_created=created, marker=marker, now=clock.now(),
    )  # fmt: skip
    if applied:
        return Result("applied")
    try:
        MarkerModel.get(marker_id, consistent_read=True)
        return Result("duplicate")
    except MarkerModel.DoesNotExist:
        return Result("ignored", "an older event, or an account that is not the workspace's")
