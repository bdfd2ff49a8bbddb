"""Stripe webhook events applied to workspaces and wallets, exactly once.

Two guards, both inside the DynamoDB transaction that changes the balance:
- the event id (`stripe_event:<evt_…>`): a redelivered event changes nothing;
- the business object that carries the money: a credit pack is keyed on its PaymentIntent
  (reached from `checkout.session.completed` AND from `payment_intent.succeeded`), a plan
  upgrade on its first invoice (reached from `checkout.session.completed` AND `invoice.paid`),
  a top-up on its PaymentIntent, a clawback on the charge with a running total.
So whichever path arrives first grants, and the other finds the grant done.

Subscription events are ordered by the event's `created` time (kept on the subscription row):
an older `updated` after a newer one, or anything after `deleted`, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import clock, ids
from chalicelib.accounting.dynamo import Transaction, TransactionCancelled
from chalicelib.accounting.ledger import adjust, claw_back, raise_allowance
from chalicelib.accounting.plans import get_plan
from chalicelib.billing.catalog import parse_plan_lookup_key
from chalicelib.observability import count, logger
from chalicelib.store.models import (
    AuditModel,
    MarkerModel,
    SubscriptionModel,
    WalletModel,
    WorkspaceModel,
)

ACTIVE_STATUSES = ("active", "trialing", "past_due")
PAST_DUE_GRACE_S = 3 * 86_400


@dataclass(frozen=True)
class Result:
    outcome: str  # applied | duplicate | ignored
    detail: str = ""


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _marker(event: dict[str, Any]) -> str:
    return f"stripe_event:{event['id']}"


def _seen(event: dict[str, Any]) -> bool:
    try:
        MarkerModel.get(_marker(event), consistent_read=True)
        return True
    except MarkerModel.DoesNotExist:
        return False


def _workspace_of(obj: dict[str, Any]) -> str | None:
    """Find the workspace an object belongs to: metadata, client reference, or the customer."""
    candidates = [obj.get("client_reference_id"), _meta(obj).get("workspace_id")]
    parent = obj.get("parent") or {}
    candidates.append(((parent.get("subscription_details") or {}).get("metadata") or {}).get("workspace_id"))
    candidates.append(((obj.get("subscription_details") or {}).get("metadata") or {}).get("workspace_id"))
    for candidate in candidates:
        if isinstance(candidate, str) and ids.is_id(candidate, "ws"):
            return candidate
    customer = obj.get("customer")
    if isinstance(customer, str):
        try:
            return str(MarkerModel.get(f"customer:{customer}").data["workspace_id"])
        except MarkerModel.DoesNotExist:
            return None
    return None


def _remember_customer(workspace_id: str, customer: Any) -> None:
    if isinstance(customer, str) and customer:
        MarkerModel(f"customer:{customer}", data={"workspace_id": workspace_id}, created_at=clock.now()).save()
        ws = WorkspaceModel.get(workspace_id)
        billing = dict(ws.billing or {})
        if billing.get("customer_id") != customer:
            billing["customer_id"] = customer
            ws.update(actions=[WorkspaceModel.billing.set(billing)])


def _record_only(event: dict[str, Any], workspace_id: str | None, note: str) -> Result:
    """Mark an event processed when it changes no balance (so a replay is a visible duplicate)."""
    try:
        MarkerModel(_marker(event), data={"workspace_id": workspace_id, "note": note}, created_at=clock.now()).save(
            MarkerModel.marker.does_not_exist())
    except PutError:
        return Result("duplicate")
    return Result("applied", note)


# --- money in ---------------------------------------------------------------------------------


def _grant(event: dict[str, Any], workspace_id: str, credits: int, source: str, reason: str,
           amount_cents: int, extra: Callable[[Transaction], None] | None = None) -> Result:
    entry = adjust(workspace_id, credits, reason=reason, actor="stripe", now=clock.now(), entry_type="purchase",
                   source=source, audit=False, markers=(_marker(event),), extra=extra,
                   source_data={"amount_cents": amount_cents}, details={"event": event["id"]})
    if entry is None:
        # Either this event was seen, or the purchase was granted through its other path.
        if not _seen(event):
            _record_only(event, workspace_id, f"already granted via {source}")
        return Result("duplicate", source)
    count("CreditsPurchased", credits, kind=reason.split(":")[0])
    return Result("applied", f"granted {credits} for {source}")


def on_checkout_completed(event: dict[str, Any]) -> Result:
    session = event["data"]["object"]
    workspace_id = _workspace_of(session)
    if workspace_id is None:
        return Result("ignored", "no workspace on the session")
    _remember_customer(workspace_id, session.get("customer"))
    meta = _meta(session)
    if session.get("mode") == "payment" and meta.get("kind") == "credit_pack":
        if session.get("payment_status") != "paid":
            return _record_only(event, workspace_id, "checkout not paid yet")
        credits = int(meta.get("credits", 0))
        source = session.get("payment_intent") or session["id"]
        return _grant(event, workspace_id, credits, str(source), f"credit_pack:{meta.get('pack')}",
                      int(session.get("amount_total") or 0))
    if session.get("mode") == "subscription" and session.get("subscription"):
        plan, interval = meta.get("plan"), meta.get("interval")
        if plan not in ("starter", "pro", "enterprise"):
            return _record_only(event, workspace_id, "subscription without a known plan")
        _apply_subscription(event, workspace_id, {
            "id": session["subscription"], "status": "active", "customer": session.get("customer"),
            "metadata": {"plan": plan, "interval": interval}, "cancel_at_period_end": False,
        }, created_rank=0)
        invoice = session.get("invoice")
        if invoice and session.get("payment_status") == "paid":
            return _upgrade(event, workspace_id, str(plan), str(invoice))
        return _record_only(event, workspace_id, "subscription started")
    return _record_only(event, workspace_id, "nothing to grant")


def _upgrade(event: dict[str, Any], workspace_id: str, plan: str, invoice_id: str) -> Result:
    granted = raise_allowance(workspace_id, plan, get_plan(plan).monthly_allowance, source=invoice_id,
                              now=clock.now(), markers=(_marker(event),))
    if not _seen(event):
        _record_only(event, workspace_id, f"upgrade via {invoice_id} already applied")
        return Result("duplicate", invoice_id)
    return Result("applied", f"allowance +{granted} for {invoice_id}")


def on_invoice_paid(event: dict[str, Any]) -> Result:
    invoice = event["data"]["object"]
    workspace_id = _workspace_of(invoice)
    subscription_id = _subscription_id_of(invoice)
    if workspace_id is None or subscription_id is None:
        return Result("ignored", "not a subscription invoice of ours")
    _clear_past_due(subscription_id, workspace_id)
    plan = _plan_of_invoice(invoice) or _current_plan(subscription_id)
    if invoice.get("billing_reason") in ("subscription_create", "subscription_update") and plan:
        return _upgrade(event, workspace_id, plan, str(invoice["id"]))
    return _record_only(event, workspace_id, "renewal paid")


def on_invoice_payment_failed(event: dict[str, Any]) -> Result:
    invoice = event["data"]["object"]
    workspace_id = _workspace_of(invoice)
    subscription_id = _subscription_id_of(invoice)
    if workspace_id is None or subscription_id is None:
        return Result("ignored", "not a subscription invoice of ours")
    since = int(event.get("created") or clock.now().timestamp())
    try:
        SubscriptionModel(subscription_id).update(
            actions=[SubscriptionModel.past_due_since.set(since), SubscriptionModel.status.set("past_due")],
            condition=SubscriptionModel.past_due_since.does_not_exist() & (SubscriptionModel.deleted == False),  # noqa: E712
        )
        _sync_workspace(workspace_id, subscription_id)
    except UpdateError:
        pass  # already past due (keep the first failure's time) or gone
    logger.warning("subscription payment failed", extra={"error_code": "payment_failed", "workspace_id": workspace_id})
    return _record_only(event, workspace_id, "past due")


def _subscription_id_of(invoice: dict[str, Any]) -> str | None:
    if isinstance(invoice.get("subscription"), str):
        return invoice["subscription"]
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    value = details.get("subscription")
    return value if isinstance(value, str) else None


def _plan_of_invoice(invoice: dict[str, Any]) -> str | None:
    for line in ((invoice.get("lines") or {}).get("data") or []):
        price = (line.get("pricing") or {}).get("price_details", {}) or {}
        key = (line.get("price") or {}).get("lookup_key") or price.get("lookup_key")
        parsed = parse_plan_lookup_key(key)
        if parsed:
            return parsed[0]
    meta = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("metadata") or {}
    return meta.get("plan") if meta.get("plan") in ("starter", "pro", "enterprise") else None


def _current_plan(subscription_id: str) -> str | None:
    try:
        return SubscriptionModel.get(subscription_id, consistent_read=True).plan
    except SubscriptionModel.DoesNotExist:
        return None


def _clear_past_due(subscription_id: str, workspace_id: str) -> None:
    try:
        SubscriptionModel(subscription_id).update(
            actions=[SubscriptionModel.past_due_since.remove(), SubscriptionModel.status.set("active")],
            condition=SubscriptionModel.past_due_since.exists() & (SubscriptionModel.deleted == False),  # noqa: E712
        )
        _sync_workspace(workspace_id, subscription_id)
    except UpdateError:
        pass


# --- subscriptions ----------------------------------------------------------------------------


def _plan_interval(sub: dict[str, Any]) -> tuple[str, str | None]:
    for item in ((sub.get("items") or {}).get("data") or []):
        parsed = parse_plan_lookup_key((item.get("price") or {}).get("lookup_key"))
        if parsed:
            return parsed
    meta = _meta(sub)
    plan = meta.get("plan") if meta.get("plan") in ("starter", "pro", "enterprise") else "free"
    return plan, meta.get("interval") if meta.get("interval") in ("month", "year") else None


def _apply_subscription(event: dict[str, Any], workspace_id: str, sub: dict[str, Any], *, created_rank: int,
                        deleted: bool = False) -> bool:
    """Store the subscription's state if this event is newer than what we applied; sync the workspace."""
    plan, interval = _plan_interval(sub)
    created = int(event.get("created") or 0)
    now = clock.now()
    status = "canceled" if deleted else str(sub.get("status") or "active")
    row = SubscriptionModel(
        str(sub["id"]), workspace_id=workspace_id, customer_id=sub.get("customer") if isinstance(sub.get("customer"), str)
        else None, status=status, plan=plan, interval=interval, cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        current_period_end=_period_end(sub), event_created=created, deleted=deleted, updated_at=now,
    )
    if deleted:
        condition = SubscriptionModel.subscription_id.does_not_exist() | (SubscriptionModel.deleted == False)  # noqa: E712
    elif created_rank == 0:
        # `created` (and checkout) never beats an update of the same second.
        condition = SubscriptionModel.subscription_id.does_not_exist() | (
            (SubscriptionModel.deleted == False) & (SubscriptionModel.event_created < created))  # noqa: E712
    else:
        condition = SubscriptionModel.subscription_id.does_not_exist() | (
            (SubscriptionModel.deleted == False) & (SubscriptionModel.event_created <= created))  # noqa: E712
    try:
        existing = SubscriptionModel.get(row.subscription_id, consistent_read=True)
        row.past_due_since = existing.past_due_since
    except SubscriptionModel.DoesNotExist:
        pass
    try:
        row.save(condition)
    except PutError:
        return False  # an older event, or after deletion
    _sync_workspace(workspace_id, row.subscription_id)
    return True


def _period_end(sub: dict[str, Any]) -> int | None:
    for item in ((sub.get("items") or {}).get("data") or []):
        if isinstance(item.get("current_period_end"), int):
            return int(item["current_period_end"])
    value = sub.get("current_period_end")
    return int(value) if isinstance(value, int) else None


def _sync_workspace(workspace_id: str, subscription_id: str) -> None:
    """Workspace plan/interval (and the wallet's plan for the next rollover) from the subscription."""
    sub = SubscriptionModel.get(subscription_id, consistent_read=True)
    ws = WorkspaceModel.get(workspace_id, consistent_read=True)
    billing = dict(ws.billing or {})
    if billing.get("subscription_id") not in (None, subscription_id) and sub.deleted:
        return  # an old subscription ended; the workspace has moved on to another one
    live = not sub.deleted and sub.status in ACTIVE_STATUSES
    plan = sub.plan if live else "free"
    interval = sub.interval if live else None
    billing.update({
        "subscription_id": subscription_id, "subscription_status": sub.status,
        "cancel_at_period_end": bool(sub.cancel_at_period_end), "current_period_end": sub.current_period_end,
        "past_due_since": sub.past_due_since,
    })
    before = {"plan": ws.plan, "billing_interval": ws.billing_interval}
    txn = Transaction()
    txn.update("workspace", ws, [WorkspaceModel.plan.set(plan), WorkspaceModel.billing.set(billing),
                                 WorkspaceModel.billing_interval.set(interval) if interval
                                 else WorkspaceModel.billing_interval.remove()])
    txn.update("wallet", WalletModel(workspace_id), [WalletModel.plan.set(plan)], WalletModel.workspace_id.exists())
    if before != {"plan": plan, "billing_interval": interval}:
        txn.put("audit", AuditModel(workspace_id, ids.new_id("aud", clock.now()), actor="stripe",
                                    action="workspace.plan", before=before,
                                    after={"plan": plan, "billing_interval": interval, "status": sub.status},
                                    reason=f"subscription {subscription_id}", created_at=clock.now()))
    txn.commit(WalletModel._get_connection().connection)


def on_subscription(event: dict[str, Any]) -> Result:
    sub = event["data"]["object"]
    workspace_id = _workspace_of(sub)
    if workspace_id is None:
        return Result("ignored", "no workspace for this subscription")
    _remember_customer(workspace_id, sub.get("customer"))
    kind = event["type"].rsplit(".", 1)[1]
    applied = _apply_subscription(event, workspace_id, sub, created_rank=0 if kind == "created" else 1,
                                  deleted=kind == "deleted")
    result = _record_only(event, workspace_id, f"subscription {kind}" if applied else "older than the state we have")
    return result if applied or result.outcome == "duplicate" else Result("ignored", "stale event")


def effective_plan(workspace: WorkspaceModel, now: datetime) -> str:
    """The plan whose limits apply now: past due beyond the grace period falls back to free."""
    since = (workspace.billing or {}).get("past_due_since")
    if since and now.timestamp() - float(since) > PAST_DUE_GRACE_S:
        return "free"
    return workspace.plan


# --- top-ups, refunds, disputes -----------------------------------------------------------------


def on_payment_intent_succeeded(event: dict[str, Any]) -> Result:
    intent = event["data"]["object"]
    meta = _meta(intent)
    workspace_id = _workspace_of(intent)
    if workspace_id is None or meta.get("kind") not in ("auto_topup", "credit_pack"):
        return Result("ignored", "not a purchase of ours")
    if intent.get("payment_method") and intent.get("setup_future_usage") == "off_session" or meta.get("kind") == "auto_topup":
        _remember_payment_method(workspace_id, intent.get("payment_method"))
    credits = int(meta.get("credits", 0))
    if meta.get("kind") == "credit_pack":
        return _grant(event, workspace_id, credits, str(intent["id"]), f"credit_pack:{meta.get('pack')}",
                      int(intent.get("amount") or 0))

    def topup_state(txn: Transaction) -> None:
        from chalicelib.billing.topup import on_success_actions

        on_success_actions(txn, workspace_id, credits, meta.get("period"))

    return _grant(event, workspace_id, credits, str(intent["id"]), "auto_topup", int(intent.get("amount") or 0),
                  extra=topup_state)


def _remember_payment_method(workspace_id: str, payment_method: Any) -> None:
    if not isinstance(payment_method, str) or not payment_method:
        return
    ws = WorkspaceModel.get(workspace_id)
    billing = dict(ws.billing or {})
    if billing.get("payment_method") != payment_method:
        billing["payment_method"] = payment_method
        ws.update(actions=[WorkspaceModel.billing.set(billing)])


def on_payment_intent_failed(event: dict[str, Any]) -> Result:
    intent = event["data"]["object"]
    workspace_id = _workspace_of(intent)
    if workspace_id is None or _meta(intent).get("kind") != "auto_topup":
        return Result("ignored", "not an auto top-up")
    if _seen(event):
        return Result("duplicate")
    from chalicelib.billing.topup import record_failure

    try:
        txn = Transaction()
        txn.put("marker", MarkerModel(_marker(event), data={"workspace_id": workspace_id}, created_at=clock.now()),
                MarkerModel.marker.does_not_exist())
        record_failure(txn, workspace_id, str(intent["id"]))
        txn.commit(WalletModel._get_connection().connection)
    except TransactionCancelled as cancelled:
        if "marker" in cancelled.failures:
            return Result("duplicate")
        _record_only(event, workspace_id, "failure already counted from the decline")
        return Result("duplicate", "failure already counted")
    from chalicelib.billing.topup import disable_if_failing

    disable_if_failing(workspace_id)
    return Result("applied", "top-up failure recorded")


def _claw(event: dict[str, Any], payment_intent: str | None, charge_id: str, owed_cents: int, reason: str) -> Result:
    if not payment_intent:
        return Result("ignored", "no payment intent")
    try:
        grant = MarkerModel.get(f"grant:{payment_intent}", consistent_read=True)
    except MarkerModel.DoesNotExist:
        return _record_only(event, None, "no credits were granted for this payment")
    workspace_id = str(grant.data["workspace_id"])
    credits, cents = int(grant.data.get("amount", 0)), int(grant.data.get("amount_cents") or 0)
    target = credits if cents <= 0 else min(credits, credits * owed_cents // cents)
    record = f"clawed:{charge_id}"
    try:
        prev = int(MarkerModel.get(record, consistent_read=True).value or 0)
    except MarkerModel.DoesNotExist:
        prev = 0
    if target <= prev:
        return _record_only(event, workspace_id, "nothing more to claw back")
    result = claw_back(workspace_id, target - prev, reason=reason, source=charge_id, now=clock.now(), record=record,
                       record_total=target, record_prev=prev)
    _record_only(event, workspace_id, reason)
    if result is None:
        return Result("duplicate")
    if result.debt_added:
        logger.warning("clawback left debt", extra={"error_code": "wallet_debt", "workspace_id": workspace_id,
                                                     "debt": result.debt_added})
    return Result("applied", f"clawed back {result.deducted}, debt +{result.debt_added}")


def on_charge_refunded(event: dict[str, Any]) -> Result:
    charge = event["data"]["object"]
    return _claw(event, charge.get("payment_intent"), str(charge["id"]), int(charge.get("amount_refunded") or 0),
                 "refund")


def on_dispute_created(event: dict[str, Any]) -> Result:
    dispute = event["data"]["object"]
    charge = dispute.get("charge")
    return _claw(event, dispute.get("payment_intent"), str(charge if isinstance(charge, str) else dispute["id"]),
                 int(dispute.get("amount") or 0), "dispute")


HANDLERS: dict[str, Callable[[dict[str, Any]], Result]] = {
    "checkout.session.completed": on_checkout_completed,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.created": on_subscription,
    "customer.subscription.updated": on_subscription,
    "customer.subscription.deleted": on_subscription,
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_intent_failed,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute_created,
}


def apply_event(event: dict[str, Any]) -> Result:
    """Apply one verified event; unknown types are ignored (and answered 2xx)."""
    handler = HANDLERS.get(str(event.get("type")))
    if handler is None:
        result = Result("ignored", "event type not handled")
    elif _seen(event):
        result = Result("duplicate")
    else:
        result = handler(event)
    count("WebhookEvents", type=str(event.get("type")), result=result.outcome)
    logger.info("stripe event", extra={"event_id": event.get("id"), "event_type": event.get("type"),
                                       "outcome": result.outcome, "detail": result.detail})
    return result
