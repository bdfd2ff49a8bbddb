"""The wallet and its ledger: reads, rollovers, grants and adjustments, reconciliation.

Every balance change is a ledger entry written in the same transaction as the wallet update,
so for every wallet sum(entry.amount) == balance and sum(entry.held_delta) == held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from chalicelib import ids
from chalicelib.accounting import wallet as rules
from chalicelib.accounting.errors import InsufficientForAdjustment
from chalicelib.accounting.periods import period_bounds
from chalicelib.accounting.reconcile import Drift, EntryFacts, check
from chalicelib.store.audit import audit_in
from chalicelib.store.models import JobModel, LedgerEntryModel, MarkerModel, WalletModel
from chalicelib.store.transaction import Transaction, TransactionCancelled


def to_rules(w: WalletModel) -> rules.Wallet:
    return rules.Wallet(
        period=w.period,
        allowance_granted=int(w.allowance_granted),
        period_spent=int(w.period_spent),
        purchased=int(w.purchased),
        held=int(w.held),
        available=int(w.available),
        debt=int(w.debt or 0),
    )


def update_wallet(
    txn: Transaction,
    workspace_id: str,
    delta: rules.Delta,
    now: datetime,
    *,
    condition: Any = None,
    actions: tuple[Any, ...] = (),
    return_old: bool = False,
) -> None:
    """Add `delta` to the wallet in `txn`: one ADD per moved pool, under `available >= bound`
    when the delta spends, plus the caller's own actions and condition."""
    adds = [getattr(WalletModel, name).add(value) for name, value in delta.nonzero().items()]
    guard = WalletModel.available >= delta.requires_available if delta.requires_available else None
    if condition is not None:
        guard = condition if guard is None else guard & condition
    txn.update(
        "wallet", WalletModel(workspace_id), [*adds, *actions, WalletModel.updated_at.set(now)], guard, return_old=return_old
    )


def new_wallet(workspace_id: str, plan: str, allowance: int, period: str, now: datetime) -> tuple[WalletModel, LedgerEntryModel]:
    """A fresh wallet with the period's allowance, and the ledger entry that explains it."""
    wallet = WalletModel(
        workspace_id,
        period=period,
        plan=plan,
        allowance_granted=allowance,
        period_spent=0,
        purchased=0,
        held=0,
        available=allowance,
        active_jobs=0,
        debt=0,
        banned=False,
        updated_at=now,
    )
    entry = LedgerEntryModel(
        workspace_id,
        ids.new_id("led", now),
        type="grant",
        amount=allowance,
        period=period,
        reason="plan allowance",
        source=f"allowance:{period}",
        created_at=now,
    )
    return wallet, entry


def get_wallet(workspace_id: str) -> WalletModel:
    return WalletModel.get(workspace_id, consistent_read=True)


def roll_over(workspace_id: str, period: str, allowance: int, now: datetime) -> bool:
    """Start `period` on a wallet still in an older one; True if this call did it.

    The write is conditioned on the old period and on the pools it derives from, so a
    concurrent or repeated rollover (or a settlement in between) cannot apply it twice.
    """
    for _ in range(8):
        current = get_wallet(workspace_id)
        if current.period >= period:
            return False
        try:
            _rollover_transaction(current, period, allowance, now).commit()
            return True
        except TransactionCancelled:
            continue  # someone else rolled it over or a settlement moved the pools: re-read
    return False


def _rollover_transaction(current: WalletModel, period: str, allowance: int, now: datetime) -> Transaction:
    """The wallet's new period (rules.rollover) and its `expire` and `grant` ledger entries."""
    before = to_rules(current)
    after = rules.rollover(before, period, allowance)
    txn = Transaction()
    txn.update(
        "wallet",
        current,
        [
            WalletModel.period.set(period),
            WalletModel.allowance_granted.set(after.wallet.allowance_granted),
            WalletModel.period_spent.set(0),
            WalletModel.purchased.add(after.wallet.purchased - before.purchased),
            WalletModel.available.add(after.granted + after.expired),
            WalletModel.updated_at.set(now),
        ],
        (WalletModel.period == before.period)
        & (WalletModel.period_spent == before.period_spent)
        & (WalletModel.allowance_granted == before.allowance_granted),
    )
    if after.expired:
        txn.put(
            "expire",
            _entry(
                current.workspace_id,
                "expire",
                after.expired,
                before.period,
                now,
                reason="unused allowance expired",
                source=f"allowance:{before.period}",
            ),
        )
    txn.put(
        "grant",
        _entry(current.workspace_id, "grant", after.granted, period, now, reason="plan allowance", source=f"allowance:{period}"),
    )
    return txn


def _entry(workspace_id: str, entry_type: str, amount: int, period: str, now: datetime, **fields: Any) -> LedgerEntryModel:
    return LedgerEntryModel(
        workspace_id, ids.new_id("led", now), type=entry_type, amount=amount, period=period, created_at=now, **fields
    )


@dataclass(frozen=True)
class Change:
    """A balance change that is not a job's: credits added (> 0) or deducted (< 0), who and why,
    and what makes it happen once. With `source`, it is keyed on that business object (a payment,
    an invoice): a second change for the same source changes nothing. `markers` (e.g. a webhook
    event id) are written in the same transaction under the same rule."""

    workspace_id: str
    amount: int
    reason: str
    actor: str
    entry_type: str = "adjust"
    source: str | None = None
    source_data: dict[str, Any] = field(default_factory=dict)
    markers: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    audited: bool = True


def apply_change(change: Change, now: datetime, extra: Callable[[Transaction], None] | None = None) -> LedgerEntryModel | None:
    """Apply `change` with its ledger entry (and audit row) in one transaction; `extra` adds
    items to it. None when a marker shows it was applied before. A deduction is conditioned on
    `available >= -amount` (InsufficientForAdjustment otherwise): available never goes below 0."""
    before = get_wallet(change.workspace_id)
    txn = Transaction()
    delta = rules.credit(change.amount) if change.amount >= 0 else rules.debit(-change.amount)
    update_wallet(txn, change.workspace_id, delta, now, condition=WalletModel.workspace_id.exists())
    entry = _entry(
        change.workspace_id,
        change.entry_type,
        change.amount,
        before.period,
        now,
        reason=change.reason,
        source=change.source,
        user_id=change.actor,
        details=change.details,
    )
    txn.put("ledger", entry)
    _put_markers(txn, change, now)
    if extra is not None:
        extra(txn)
    if change.audited:
        _audit_change(txn, change, int(before.available), now)
    try:
        txn.commit()
    except TransactionCancelled as cancelled:
        if any(label.startswith("marker") for label in cancelled.failures):
            return None
        if "wallet" in cancelled.failures:
            raise InsufficientForAdjustment(int(get_wallet(change.workspace_id).available)) from None
        raise
    return entry


def _audit_change(txn: Transaction, change: Change, available_before: int, now: datetime) -> None:
    audit_in(
        txn,
        change.workspace_id,
        change.actor,
        f"credits.{change.entry_type}",
        reason=change.reason,
        before={"available": available_before},
        after={"available": available_before + change.amount},
        now=now,
    )


def _put_markers(txn: Transaction, change: Change, now: datetime) -> None:
    """The exactly-once guards of a change: its business object, then any event markers."""
    if change.source:
        data = {"workspace_id": change.workspace_id, "amount": change.amount, **change.source_data}
        txn.put("marker", MarkerModel(f"grant:{change.source}", data=data, created_at=now), MarkerModel.marker.does_not_exist())
    _put_event_markers(txn, change.workspace_id, change.markers, now)


def _put_event_markers(txn: Transaction, workspace_id: str, markers: tuple[str, ...], now: datetime) -> None:
    """One row per marker (e.g. a webhook event id), each only if it does not exist yet: a change
    carrying a marker seen before is cancelled whole."""
    for n, marker in enumerate(markers):
        txn.put(
            f"marker:{n}",
            MarkerModel(marker, data={"workspace_id": workspace_id}, created_at=now),
            MarkerModel.marker.does_not_exist(),
        )


def adjust(
    workspace_id: str,
    amount: int,
    *,
    reason: str,
    actor: str,
    now: datetime,
    extra: Callable[[Transaction], None] | None = None,
    **options: Any,
) -> LedgerEntryModel | None:
    """`apply_change` for the simple case (an admin grant or deduction); `options` are Change's
    fields (entry_type, source, source_data, markers, details, audit)."""
    if "audit" in options:
        options["audited"] = options.pop("audit")
    if options.get("source_data") is None:
        options.pop("source_data", None)
    if options.get("details") is None:
        options.pop("details", None)
    return apply_change(Change(workspace_id, amount, reason, actor, **options), now, extra)


def raise_allowance(
    workspace_id: str, plan: str, allowance: int, *, source: str, now: datetime, markers: tuple[str, ...] = ()
) -> int | None:
    """An upgrade mid-period: the new plan's allowance applies now (the difference is granted
    once, keyed on `source`, e.g. the first invoice). Returns the credits granted (0 if none),
    or None when a marker was written before (this call changed nothing)."""
    for _ in range(8):
        w = get_wallet(workspace_id)
        change = rules.raise_allowance(to_rules(w), allowance)
        delta = change.allowance_granted
        txn = Transaction()
        update_wallet(
            txn,
            workspace_id,
            change,
            now,
            actions=(WalletModel.plan.set(plan),),
            condition=(WalletModel.period == w.period) & (WalletModel.allowance_granted == int(w.allowance_granted)),
        )
        if delta > 0:
            txn.put("ledger", _upgrade_grant(workspace_id, delta, str(w.period), plan, source, now))
        txn.put(
            "marker",
            MarkerModel(f"upgrade:{source}", data={"workspace_id": workspace_id, "amount": max(0, delta)}, created_at=now),
            MarkerModel.marker.does_not_exist(),
        )
        _put_event_markers(txn, workspace_id, markers, now)
        try:
            txn.commit()
            return max(0, delta)
        except TransactionCancelled as cancelled:
            if any(label.startswith("marker") for label in cancelled.failures):
                return None
            continue  # the wallet moved (rollover, grant): re-read
    return 0


def _upgrade_grant(workspace_id: str, delta: int, period: str, plan: str, source: str, now: datetime) -> LedgerEntryModel:
    return LedgerEntryModel(
        workspace_id,
        ids.new_id("led", now),
        type="grant",
        amount=delta,
        period=period,
        reason=f"upgrade to {plan}",
        source=f"upgrade:{source}",
        created_at=now,
    )


@dataclass(frozen=True)
class Clawback:
    deducted: int  # taken from the wallet (purchased first, then allowance)
    debt_added: int  # what the wallet could not cover


def claw_back(
    workspace_id: str,
    owed: int,
    *,
    reason: str,
    source: str,
    now: datetime,
    record: str,
    record_total: int,
    record_prev: int,
    record_data: dict[str, Any] | None = None,
    markers: tuple[str, ...] = (),
) -> Clawback | None:
    """Take back `owed` credits (a refund, a dispute), never below available 0: the rest is debt.

    `record` keeps the running total clawed for the business object (`record_prev` -> `record_total`)
    under a condition, so a replayed or older refund event changes nothing (returns None);
    `record_data` is kept on it (the caller's running totals behind that number). `markers`
    (e.g. a webhook event id) are written in the same transaction; one seen before -> None.
    """
    for _ in range(8):
        w = to_rules(get_wallet(workspace_id))
        change = rules.clawback(w, owed)
        txn = _clawback_transaction(workspace_id, w, change, owed, reason=reason, source=source, now=now)
        _advance_record(txn, record, record_prev, record_total, {"workspace_id": workspace_id, **(record_data or {})}, now)
        _put_event_markers(txn, workspace_id, markers, now)
        try:
            txn.commit()
            return Clawback(-change.purchased + change.period_spent, change.debt)
        except TransactionCancelled as cancelled:
            if "record" in cancelled.failures or any(label.startswith("marker") for label in cancelled.failures):
                return None
            continue  # the wallet moved: re-read
    return None


def _clawback_transaction(
    workspace_id: str, w: rules.Wallet, change: rules.Delta, owed: int, *, reason: str, source: str, now: datetime
) -> Transaction:
    """The wallet change, conditioned on the wallet read (`w`), and its `clawback` entry."""
    from_purchased, from_allowance = -change.purchased, change.period_spent
    txn = Transaction()
    update_wallet(
        txn,
        workspace_id,
        change,
        now,
        condition=(WalletModel.period == w.period)
        & (WalletModel.purchased == w.purchased)
        & (WalletModel.period_spent == w.period_spent)
        & (WalletModel.held == w.held),
    )
    details = {"owed": owed, "debt_added": change.debt, "from_purchased": from_purchased, "from_allowance": from_allowance}
    entry = LedgerEntryModel(
        workspace_id,
        ids.new_id("led", now),
        type="clawback",
        amount=-(from_purchased + from_allowance),
        period=w.period,
        reason=reason,
        source=source,
        created_at=now,
        details=details,
    )
    txn.put("ledger", entry)
    return txn


def _advance_record(txn: Transaction, record: str, prev: int, total: int, data: dict[str, Any], now: datetime) -> None:
    """Move a business object's running total from `prev` to `total`, only if it is still at
    `prev` (absent when 0): a replayed or older event finds it moved and cancels the change."""
    condition = MarkerModel.marker.does_not_exist() if prev == 0 else MarkerModel.value == prev
    txn.update(
        "record",
        MarkerModel(record),
        [MarkerModel.value.set(total), MarkerModel.data.set(data), MarkerModel.created_at.set(now)],
        condition,
    )


def reconcile_wallet(workspace_id: str, attempts: int = 5) -> Drift:
    """Re-sum a wallet's ledger and check it against the wallet (reconcile.py lists the checks).

    Reads are not one snapshot, so it runs while jobs settle: every ledger write changes the
    wallet in the same transaction, so a wallet unchanged across the ledger read proves the
    ledger read was consistent with it; otherwise it reads again."""
    for _ in range(attempts):
        before = get_wallet(workspace_id)
        entries = [
            EntryFacts(str(e.type), int(e.amount), int(e.held_delta), e.job_id)
            for e in LedgerEntryModel.query(workspace_id, consistent_read=True)
        ]
        slotted = _open_slots(workspace_id, entries)
        if get_wallet(workspace_id).attribute_values == before.attribute_values:
            break
    return check(
        workspace_id,
        to_rules(before),
        entries,
        active_jobs=int(before.active_jobs or 0),
        running_jobs=int(before.running_jobs or 0),
        slot_of=lambda open_jobs: len(slotted & open_jobs),
    )


def _open_slots(workspace_id: str, entries: list[EntryFacts]) -> set[str]:
    """Jobs whose hold is open and that hold a running slot (a read per open job: few)."""
    opened = {e.job_id for e in entries if e.type == "hold" and e.job_id}
    opened -= {e.job_id for e in entries if e.type in ("charge", "release")}
    return {
        job_id
        for job_id in opened
        if job_id
        and getattr(JobModel.get(workspace_id, job_id, consistent_read=True, attributes_to_get=["job_id", "slot"]), "slot", None)
    }


def reconcile_all() -> list[Drift]:
    """Every wallet's drift (the scheduled/CLI `reconcile`); an empty list of bad ones is good."""
    return [reconcile_wallet(w.workspace_id) for w in WalletModel.scan(attributes_to_get=["workspace_id"])]


@dataclass(frozen=True)
class Balance:
    """A wallet's pools in credits, spent allowance first (the numbers of `GET /v1/balance`)."""

    workspace_id: str
    plan: str
    period: str
    period_start: datetime
    period_end: datetime
    allowance_granted: int
    allowance_used: int
    allowance_remaining: int
    purchased: int  # purchased credits left
    held: int
    available: int
    debt: int


def balance(w: WalletModel) -> Balance:
    """The wallet's pools as the rules compute them."""
    r = to_rules(w)
    start, end = period_bounds(r.period)
    return Balance(
        workspace_id=w.workspace_id,
        plan=w.plan,
        period=r.period,
        period_start=start,
        period_end=end,
        allowance_granted=r.allowance_granted,
        allowance_used=r.allowance_used,
        allowance_remaining=r.allowance_remaining,
        purchased=r.purchased_remaining,
        held=r.held,
        available=r.available,
        debt=r.debt,
    )
