"""Stripe webhook events applied to workspaces and wallets, exactly once — or refused whole.

Each handled event is validated as a whole (`stripe_objects.parse`) and checked against our
catalog and state before anything is written. A signed event that can never be applied
(malformed, an unknown workspace, money that does not match what it claims to buy) is
*rejected*: acknowledged with 2xx so Stripe stops retrying, counted (`StripeEventsRejected`),
listed for operators (`GET /admin/api/billing/rejected-events`), and nothing else changes.

Two guards make the rest exactly once, both inside the DynamoDB transaction that changes the
balance: the event id (`stripe_event:<evt_…>`), and the business object that carries the money
(see `purchases` and `subscriptions`), so whichever path arrives first grants and the other
finds the grant done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.plans import PAST_DUE_GRACE_S
from chalicelib.billing.common import Result, record_only, remember_customer, resolve_workspace, seen
from chalicelib.billing.errors import Rejected
from chalicelib.billing.purchases import (
    checkout_pack,
    on_charge_refunded,
    on_dispute_created,
    on_payment_intent_failed,
    on_payment_intent_succeeded,
)
from chalicelib.billing.stripe_objects import CheckoutSession, Event, meta, parse
from chalicelib.billing.subscriptions import (
    checkout_subscription,
    on_invoice_paid,
    on_invoice_payment_failed,
    on_subscription,
)
from chalicelib.observability import count, logger
from chalicelib.store.models import RejectedEventModel
from chalicelib.store.transaction import Transaction, TransactionCancelled

__all__ = ["HANDLERS", "PAST_DUE_GRACE_S", "RejectedEvent", "Result", "apply_event", "list_rejected"]

REJECTED_KEEP_DAYS = 180


def on_checkout_completed(event: Event[CheckoutSession]) -> Result:
    session = event.data.object
    workspace = resolve_workspace([session.client_reference_id, meta(session).get("workspace_id")], session.customer)
    if workspace is None:
        return Result("ignored", "no workspace on the session")
    if session.mode == "payment" and meta(session).get("kind") == "credit_pack":
        return checkout_pack(event, workspace)
    if session.mode == "subscription" and session.subscription:
        return checkout_subscription(event, workspace)
    remember_customer(workspace, session.customer)
    return record_only(event.id, workspace.workspace_id, "nothing to grant")


HANDLERS: dict[str, Callable[[Any], Result]] = {
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


def _named_workspace(event: dict[str, Any]) -> str | None:
    """The workspace a (possibly malformed) event names in its object's metadata, for the list."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    named = metadata.get("workspace_id") if isinstance(metadata, dict) else None
    return named if isinstance(named, str) and ids.is_id(named, "ws") else None


def _rejection(partition: str, row_id: str, event: dict[str, Any], rejected: Rejected, now: datetime) -> RejectedEventModel:
    return RejectedEventModel(
        partition,
        row_id,
        event_id=str(event["id"]),
        event_type=str(event["type"]),
        reason=rejected.reason,
        field=rejected.field,
        workspace_id=_named_workspace(event),
        created_at=now,
        expires_at=int((now + timedelta(days=REJECTED_KEEP_DAYS)).timestamp()),
    )


def _reject(event: dict[str, Any], rejected: Rejected) -> Result:
    """Writes only the rejection (two rows of one table, once per event id): nothing else."""
    now = clock.now()
    txn = Transaction()
    txn.put(
        "guard",
        _rejection(f"stripe_event:{event['id']}", "guard", event, rejected, now),
        RejectedEventModel.partition.does_not_exist(),
    )
    txn.put("row", _rejection("stripe", ids.new_id("rej", now), event, rejected, now))
    try:
        txn.commit()
    except TransactionCancelled:
        return Result("rejected", rejected.reason)  # a replay: recorded and counted the first time
    count("StripeEventsRejected", type=str(event["type"]))
    logger.warning(
        "stripe event rejected",
        extra={
            "error_code": "stripe_event_rejected",
            "event_id": event["id"],
            "event_type": event["type"],
            "reason": rejected.reason,
        },
    )
    return Result("rejected", rejected.reason)


def _handle(event: dict[str, Any]) -> Result:
    handler = HANDLERS.get(str(event["type"]))
    if handler is None:
        return Result("ignored", "event type not handled")
    if seen(str(event["id"])):
        return Result("duplicate")
    try:
        return handler(parse(event))
    except Rejected as rejected:
        return _reject(event, rejected)


def apply_event(event: dict[str, Any]) -> Result:
    """Apply one verified event (a dict with a string `id` and `type`); unknown types are ignored."""
    result = _handle(event)
    count("WebhookEvents", type=str(event.get("type")) if event.get("type") in HANDLERS else "other", result=result.outcome)
    logger.info(
        "stripe event",
        extra={"event_id": event.get("id"), "event_type": event.get("type"), "outcome": result.outcome, "detail": result.detail},
    )
    return result


@dataclass(frozen=True)
class RejectedEvent:
    """A signed event we acknowledged but refused: a payment or change to look at by hand."""

    id: str
    event_id: str
    event_type: str
    reason: str
    field: str | None
    workspace_id: str | None
    created_at: datetime


def list_rejected(limit: int, cursor: dict[str, Any] | None) -> tuple[list[RejectedEvent], dict[str, Any] | None]:
    """Rejected events, newest first (the operators' list), and where the next page starts."""
    result = RejectedEventModel.query("stripe", scan_index_forward=False, limit=limit, last_evaluated_key=cursor)
    rows = [
        RejectedEvent(r.rejected_id, r.event_id, r.event_type, r.reason, r.field, r.workspace_id, r.created_at) for r in result
    ]
    return rows, result.last_evaluated_key
