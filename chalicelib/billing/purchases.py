"""Money in and money back: credit packs, auto top-ups, refunds and disputes.

What a payment buys comes from OUR catalog and the money Stripe says was paid, never from the
event's metadata alone: metadata names the pack (or the top-up request), the catalog says what
it costs and how many credits it gives, and the amount and currency must cover it. Anything else
is `Rejected` before a write. A credit pack is keyed on its PaymentIntent (reachable from
`checkout.session.completed` AND `payment_intent.succeeded`), so whichever arrives first grants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib import clock
from chalicelib.accounting.ledger import adjust, claw_back
from chalicelib.billing.catalog import PACKS, Pack, topup_amount_cents
from chalicelib.billing.common import (
    Result,
    event_marker,
    record_only,
    remember_customer,
    require_usd,
    resolve_workspace,
    seen,
)
from chalicelib.billing.errors import Rejected, WalletBusy
from chalicelib.billing.stripe_objects import Charge, CheckoutSession, Dispute, Event, PaymentIntent, meta
from chalicelib.billing.topup import disable_if_failing, on_success_actions, record_failure
from chalicelib.observability import count, logger
from chalicelib.store import billing_settings
from chalicelib.store.billing_settings import BilledWorkspace
from chalicelib.store.models import MarkerModel, TopupModel
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.webhooks.balance_low import request_check as request_balance_check
from chalicelib.webhooks.producers import topup_finished

# --- what a payment buys ----------------------------------------------------------------------


def pack_bought(metadata: dict[str, str], paid_cents: int | None, currency: str | None) -> Pack:
    """The catalog pack a payment bought; `Rejected` unless the money covers its price."""
    pack = PACKS.get(metadata.get("pack", ""))
    if pack is None:
        raise Rejected(f"unknown credit pack {metadata.get('pack')!r}", "metadata.pack")
    if "credits" in metadata and metadata["credits"] != str(pack.credits):
        raise Rejected(
            f"metadata.credits {metadata['credits'][:40]!r} is not what {pack.lookup_key} gives ({pack.credits})",
            "metadata.credits",
        )
    require_usd(currency, "the payment")
    if paid_cents is None or paid_cents < pack.amount_cents:
        raise Rejected(f"{paid_cents} cents paid is less than {pack.lookup_key}'s price of {pack.amount_cents}", "amount")
    return pack


@dataclass(frozen=True)
class TopupBought:
    credits: int
    period: str | None


def topup_bought(workspace_id: str, intent: PaymentIntent) -> TopupBought:
    """Reads only. An auto top-up gives what the billing worker asked for (its request record),
    or, for a payment without one, the workspace's configured amount; the charge must match."""
    metadata = meta(intent)
    raw = metadata.get("credits", "")
    if not raw.isdigit() or not 0 < int(raw) <= 10**9:
        raise Rejected(f"auto top-up credits {raw[:40]!r} is not a positive integer", "metadata.credits")
    credits = int(raw)
    expected, cents = _topup_expected(workspace_id, metadata.get("topup_key"))
    if credits != expected:
        raise Rejected(f"auto top-up of {credits} credits, but {expected} were requested", "metadata.credits")
    require_usd(intent.currency, "the top-up")
    paid = intent.amount_received if intent.amount_received is not None else intent.amount
    if intent.amount != cents or paid < cents:
        raise Rejected(f"auto top-up of {credits} credits costs {cents} cents; {paid} were paid", "amount")
    return TopupBought(credits, metadata.get("period"))


def _topup_expected(workspace_id: str, key: str | None) -> tuple[int, int]:
    if key:
        try:
            request = MarkerModel.get(f"topup_request:{key}", consistent_read=True)
        except MarkerModel.DoesNotExist:
            raise Rejected(f"no auto top-up request {key[:80]!r}", "metadata.topup_key") from None
        if request.data.get("workspace_id") != workspace_id:
            raise Rejected("the auto top-up request belongs to another workspace", "metadata.topup_key")
        return int(request.data["credits"]), int(request.data["amount_cents"])
    try:
        amount = int(TopupModel.get(workspace_id, consistent_read=True).amount)
    except TopupModel.DoesNotExist:
        raise Rejected("auto top-up payment for a workspace without auto top-up", "metadata.kind") from None
    return amount, topup_amount_cents(amount)


# --- grants -------------------------------------------------------------------------------------


def _grant(
    event_id: str,
    workspace_id: str,
    credits: int,
    source: str,
    reason: str,
    amount_cents: int,
    extra: Callable[[Transaction], None] | None = None,
) -> Result:
    entry = adjust(
        workspace_id,
        credits,
        reason=reason,
        actor="stripe",
        now=clock.now(),
        entry_type="purchase",
        source=source,
        audit=False,
        markers=(event_marker(event_id),),
        extra=extra,
        source_data={"amount_cents": amount_cents},
        details={"event": event_id},
    )
    if entry is None:
        # Either this event was seen, or the purchase was granted through its other path.
        if not seen(event_id):
            record_only(event_id, workspace_id, f"already granted via {source}")
        return Result("duplicate", source)
    count("CreditsPurchased", credits, kind=reason.split(":")[0])
    request_balance_check(workspace_id)  # balance.low re-arms once the credits are there
    return Result("applied", f"granted {credits} for {source}")


def checkout_pack(event: Event[CheckoutSession], workspace: BilledWorkspace) -> Result:
    """A paid credit-pack session: the pack's credits, keyed on its PaymentIntent."""
    session = event.data.object
    if session.payment_status != "paid":
        remember_customer(workspace, session.customer)
        return record_only(event.id, workspace.workspace_id, "checkout not paid yet")
    pack = pack_bought(meta(session), session.amount_total, session.currency)
    if not session.payment_intent:
        raise Rejected("a paid credit-pack session without a payment intent", "data.object.payment_intent")
    remember_customer(workspace, session.customer)
    return _grant(
        event.id,
        workspace.workspace_id,
        pack.credits,
        session.payment_intent,
        f"credit_pack:{pack.lookup_key}",
        int(session.amount_total or 0),
    )


def on_payment_intent_succeeded(event: Event[PaymentIntent]) -> Result:
    intent = event.data.object
    kind = meta(intent).get("kind")
    if kind not in ("auto_topup", "credit_pack"):
        return Result("ignored", "not a purchase of ours")
    workspace = resolve_workspace([meta(intent).get("workspace_id")], intent.customer)
    if workspace is None:
        return Result("ignored", "no workspace for this payment")
    ws = workspace.workspace_id
    paid = intent.amount_received if intent.amount_received is not None else intent.amount
    if kind == "credit_pack":
        pack = pack_bought(meta(intent), paid, intent.currency)
        if intent.setup_future_usage == "off_session":
            _remember_payment_method(workspace, intent.payment_method)
        return _grant(event.id, ws, pack.credits, intent.id, f"credit_pack:{pack.lookup_key}", paid)
    bought = topup_bought(ws, intent)
    _remember_payment_method(workspace, intent.payment_method)

    def topup_state(txn: Transaction) -> None:
        on_success_actions(txn, ws, bought.credits, bought.period)

    result = _grant(event.id, ws, bought.credits, intent.id, "auto_topup", paid, extra=topup_state)
    if result.outcome == "applied":
        topup_finished(ws, intent.id, succeeded=True, credits=bought.credits)
    return result


def _remember_payment_method(workspace: BilledWorkspace, payment_method: str | None) -> None:
    """Writes: the card auto top-up charges off-session (the settings, under their version)."""
    if payment_method and workspace.settings.payment_method != payment_method:
        billing_settings.update(workspace.workspace_id, lambda s: replace(s, payment_method=payment_method))


def on_payment_intent_failed(event: Event[PaymentIntent]) -> Result:
    intent = event.data.object
    if meta(intent).get("kind") != "auto_topup":
        return Result("ignored", "not an auto top-up")
    workspace = resolve_workspace([meta(intent).get("workspace_id")], intent.customer)
    if workspace is None:
        return Result("ignored", "no workspace for this payment")
    ws = workspace.workspace_id
    try:
        txn = Transaction()
        txn.put(
            "marker",
            MarkerModel(event_marker(event.id), data={"workspace_id": ws}, created_at=clock.now()),
            MarkerModel.marker.does_not_exist(),
        )
        record_failure(txn, ws, intent.id)
        txn.commit()
    except TransactionCancelled as cancelled:
        if "marker" in cancelled.failures:
            return Result("duplicate")
        record_only(event.id, ws, "failure already counted from the decline")
        return Result("duplicate", "failure already counted")
    topup_finished(ws, intent.id, succeeded=False, reason="payment failed")
    disable_if_failing(ws)
    return Result("applied", "top-up failure recorded")


# --- money back: refunds and disputes -------------------------------------------------------------


@dataclass
class Returned:
    """Money returned on one payment, kept per PaymentIntent: refunds (Stripe's cumulative
    `amount_refunded`) and disputes (each by id) are separate running totals, so a refund and a
    dispute of the rest add up, and a replay or an older event changes nothing."""

    refunded: int = 0
    disputes: dict[str, int] = field(default_factory=dict)
    clawed: int = 0  # credits taken back so far

    def merged(self, refunded: int | None, dispute: tuple[str, int] | None) -> Returned:
        disputes = dict(self.disputes)
        if dispute is not None:
            disputes[dispute[0]] = max(disputes.get(dispute[0], 0), dispute[1])
        return Returned(max(self.refunded, refunded or 0), disputes, self.clawed)

    def cents(self, paid: int) -> int:
        return min(paid, self.refunded + sum(self.disputes.values()))

    def as_data(self) -> dict[str, Any]:
        return {"refunded": self.refunded, "disputes": self.disputes, "clawed": self.clawed}


def _returned(payment_intent: str) -> tuple[Returned, int]:
    """The payment's state and its version (0: none yet)."""
    try:
        row = MarkerModel.get(f"returned:{payment_intent}", consistent_read=True)
    except MarkerModel.DoesNotExist:
        return Returned(), 0
    data = row.data or {}
    return Returned(
        int(data.get("refunded", 0)),
        {str(k): int(v) for k, v in (data.get("disputes") or {}).items()},
        int(data.get("clawed", 0)),
    ), int(row.value or 0)


def _save_state(event_id: str, payment_intent: str, workspace_id: str, state: Returned, version: int) -> bool:
    """Writes: a new state that takes no credits (e.g. a dispute of money already refunded),
    with the event's marker; False when another delivery moved the state first."""
    now = clock.now()
    txn = Transaction()
    txn.update(
        "record",
        MarkerModel(f"returned:{payment_intent}"),
        [
            MarkerModel.value.set(version + 1),
            MarkerModel.data.set({"workspace_id": workspace_id, **state.as_data()}),
            MarkerModel.created_at.set(now),
        ],
        MarkerModel.marker.does_not_exist() if version == 0 else MarkerModel.value == version,
    )
    txn.put(
        "marker",
        MarkerModel(event_marker(event_id), data={"workspace_id": workspace_id}, created_at=now),
        MarkerModel.marker.does_not_exist(),
    )
    try:
        txn.commit()
        return True
    except TransactionCancelled:
        return False


def _grant_of(payment_intent: str | None) -> MarkerModel | None:
    if not payment_intent:
        return None
    try:
        return MarkerModel.get(f"grant:{payment_intent}", consistent_read=True)
    except MarkerModel.DoesNotExist:
        return None


def _claw(
    event: Event[Any],
    payment_intent: str,
    grant: MarkerModel,
    reason: str,
    *,
    refunded: int | None = None,
    dispute: tuple[str, int] | None = None,
) -> Result:
    """Take back the credits of the money returned so far, once: proportional to the cumulative
    money returned (refunds + disputes, capped at what was paid) minus what was taken already."""
    workspace_id = str(grant.data["workspace_id"])
    credits, paid = int(grant.data.get("amount", 0)), int(grant.data.get("amount_cents") or 0)
    for _ in range(8):
        state, version = _returned(payment_intent)
        new = state.merged(refunded, dispute)
        if new == state:
            return record_only(event.id, workspace_id, "nothing more to claw back")
        target = credits if paid <= 0 else min(credits, credits * new.cents(paid) // paid)
        new.clawed = max(target, state.clawed)
        outcome = _take_back(event, payment_intent, workspace_id, target - state.clawed, reason, version, new)
        if outcome is not None:
            return outcome
        # another refund or dispute of this payment (or this one) moved the state: re-read it
    raise WalletBusy("the wallet is busy; retry the event")


def _take_back(
    event: Event[Any], payment_intent: str, workspace_id: str, owed: int, reason: str, version: int, new: Returned
) -> Result | None:
    """Claw back `owed` and move the payment's returned-money record from `version` to `new`;
    None when the record moved meanwhile (the caller re-reads)."""
    if owed <= 0:
        if _save_state(event.id, payment_intent, workspace_id, new, version):
            return Result("applied", f"{reason}: the money was returned before, nothing more to claw back")
        return None
    result = claw_back(
        workspace_id,
        owed,
        reason=reason,
        source=payment_intent,
        now=clock.now(),
        record=f"returned:{payment_intent}",
        record_total=version + 1,
        record_prev=version,
        record_data=new.as_data(),
        markers=(event_marker(event.id),),
    )
    if result is None:
        return None
    if result.debt_added:
        logger.warning(
            "clawback left debt", extra={"error_code": "wallet_debt", "workspace_id": workspace_id, "debt": result.debt_added}
        )
    return Result("applied", f"clawed back {result.deducted}, debt +{result.debt_added}")


def on_charge_refunded(event: Event[Charge]) -> Result:
    charge = event.data.object
    if charge.amount_refunded > charge.amount:
        raise Rejected(
            f"amount_refunded {charge.amount_refunded} exceeds the charge's {charge.amount}", "data.object.amount_refunded"
        )
    if not charge.payment_intent:
        return Result("ignored", "no payment intent")
    grant = _grant_of(charge.payment_intent)
    if grant is None:
        return record_only(event.id, None, "no credits were granted for this payment")
    require_usd(charge.currency, "the refund")
    return _claw(event, charge.payment_intent, grant, "refund", refunded=charge.amount_refunded)


def on_dispute_created(event: Event[Dispute]) -> Result:
    dispute = event.data.object
    if not dispute.payment_intent:
        return Result("ignored", "no payment intent")
    grant = _grant_of(dispute.payment_intent)
    if grant is None:
        return record_only(event.id, None, "no credits were granted for this payment")
    require_usd(dispute.currency, "the dispute")
    return _claw(event, dispute.payment_intent, grant, "dispute", dispute=(dispute.id, dispute.amount))
