"""Subscriptions: plan and interval on the workspace, the allowance an upgrade brings, past due.

- One subscription per workspace: the billing settings' `subscription_id` is the current one. Another
  subscription becomes current only while the workspace has no live one (none, or the current
  one ended); events of any other subscription are kept on that subscription's own row and never
  change the workspace's plan. A paid checkout of a second subscription is refused for operators
  (see `events.apply_event`): the customer paid for something we did not give, to refund.
- The plan comes from the subscription's price (its lookup key, with the catalog's amount and
  currency), never from metadata alone; checkout's metadata counts only if the amount paid covers
  that plan's price.
- An upgrade applies now: the allowance difference for this month is granted once, keyed on
  (subscription, plan, month), by whichever arrives first of the paid checkout, the first invoice,
  or the `updated` event that raised the plan. `raise_allowance` only ever raises a month's
  allowance to the plan's, so a downgrade then an upgrade again in a month grants nothing more.
- Events are ordered by their `created` time on the subscription row: an older `updated` after a
  newer one, or anything after `deleted`, changes nothing.
- Past due: `invoice.payment_failed` records when (`past_due_since`, the first failure's time);
  the plan rule that drops to free's limits after the grace is `accounting.plans.effective_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import clock
from chalicelib.accounting.ledger import raise_allowance
from chalicelib.accounting.periods import period_of
from chalicelib.accounting.plans import get_plan
from chalicelib.billing.catalog import PLAN_PRICES_CENTS, parse_plan_lookup_key
from chalicelib.billing.common import (
    Result,
    event_marker,
    record_only,
    remember_customer,
    require_usd,
    resolve_workspace,
    seen,
)
from chalicelib.billing.errors import Rejected
from chalicelib.billing.stripe_objects import CheckoutSession, Event, Invoice, Price, Subscription, meta
from chalicelib.observability import logger
from chalicelib.store import billing_settings
from chalicelib.store.audit import audit_in
from chalicelib.store.billing_settings import BilledWorkspace, BillingSettings
from chalicelib.store.models import SubscriptionModel, WalletModel
from chalicelib.store.transaction import Transaction

LIVE_STATUSES = ("active", "trialing", "past_due")


@dataclass(frozen=True)
class SubState:
    """A subscription as we store it, from a validated Stripe object (or a paid checkout)."""

    subscription_id: str
    status: str
    customer: str | None
    plan: str
    interval: str | None
    cancel_at_period_end: bool = False
    current_period_end: int | None = None


def plan_of_price(price: Price | None) -> tuple[str, str] | None:
    """(plan, interval) of one of our plan prices; None for any other price; `Rejected` when a
    plan's lookup key carries another amount, currency or interval than the catalog's."""
    parsed = parse_plan_lookup_key(price.lookup_key) if price is not None else None
    if price is None or parsed is None:
        return None
    expected = PLAN_PRICES_CENTS[parsed]
    interval = price.recurring.interval if price.recurring else None
    if price.unit_amount != expected or (price.currency or "").lower() != "usd" or interval not in (None, parsed[1]):
        raise Rejected(
            f"price {price.lookup_key} is {price.unit_amount} {price.currency} per {interval}; the catalog "
            f"says {expected} usd per {parsed[1]}",
            "price",
        )
    return parsed


def state_of(sub: Subscription, *, deleted: bool) -> SubState:
    """Reads nothing. `Rejected` when a live subscription has no plan price of ours."""
    items = sub.items.data if sub.items else []
    try:
        plans = [p for p in (plan_of_price(item.price) for item in items) if p]
    except Rejected:
        if not deleted:
            raise
        plans = []  # an ended subscription's plan no longer matters
    if not plans and not deleted:
        raise Rejected("the subscription has no plan price of ours", "data.object.items")
    plan, interval = plans[0] if plans else ("free", None)
    ends = [item.current_period_end for item in items if item.current_period_end is not None]
    return SubState(
        sub.id,
        "canceled" if deleted else sub.status,
        sub.customer,
        plan,
        interval,
        sub.cancel_at_period_end,
        ends[0] if ends else sub.current_period_end,
    )


def _row(subscription_id: str | None) -> SubscriptionModel | None:
    if not subscription_id:
        return None
    try:
        return SubscriptionModel.get(subscription_id, consistent_read=True)
    except SubscriptionModel.DoesNotExist:
        return None


def _live(row: SubscriptionModel | None) -> bool:
    return row is not None and not row.deleted and row.status in LIVE_STATUSES


def live_other(settings: BillingSettings, subscription_id: str) -> str | None:
    """Reads only. The workspace's current subscription when it is live and not this one."""
    current = settings.subscription_id
    if current and current != subscription_id and _live(_row(current)):
        return current
    return None


def current_live(settings: BillingSettings) -> SubscriptionModel | None:
    """The workspace's live subscription, if any (checkout refuses a second one)."""
    row = _row(settings.subscription_id)
    return row if _live(row) else None


# --- the subscription row and the workspace -----------------------------------------------------


def _store(created: int, workspace_id: str, state: SubState, *, rank: int, deleted: bool) -> bool:
    """Writes: the row, if this event is newer than what we applied (else False)."""
    now = clock.now()
    row = SubscriptionModel(
        state.subscription_id,
        workspace_id=workspace_id,
        customer_id=state.customer,
        status=state.status,
        plan=state.plan,
        interval=state.interval,
        cancel_at_period_end=state.cancel_at_period_end,
        current_period_end=state.current_period_end,
        event_created=created,
        deleted=deleted,
        updated_at=now,
    )
    exists = SubscriptionModel.subscription_id.does_not_exist()
    alive = SubscriptionModel.deleted == False  # noqa: E712
    if deleted:
        condition = exists | alive
    elif rank == 0:  # `created` (and checkout) never beats an update of the same second
        condition = exists | (alive & (SubscriptionModel.event_created < created))
    else:
        condition = exists | (alive & (SubscriptionModel.event_created <= created))
    previous = _row(state.subscription_id)
    if previous is not None:
        row.past_due_since = previous.past_due_since
    try:
        row.save(condition)
    except PutError:
        return False  # an older event, or after deletion
    return True


def _int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _synced(current: BilledWorkspace, sub: SubscriptionModel, txn: Transaction) -> bool:
    """Adds to `txn`: the workspace follows `sub` (plan, interval, settings; the wallet's plan for
    the next rollover; an audit row when the plan changes). False, adding nothing, when another
    live subscription is (or stays) the workspace's."""
    other = current.settings.subscription_id
    if other not in (None, sub.subscription_id) and (not _live(sub) or _live(_row(other))):
        return False
    plan, interval = (sub.plan, sub.interval) if _live(sub) else ("free", None)
    settings = replace(
        current.settings,
        subscription_id=sub.subscription_id,
        subscription_status=sub.status,
        cancel_at_period_end=bool(sub.cancel_at_period_end),
        current_period_end=_int(sub.current_period_end),
        past_due_since=_int(sub.past_due_since),
    )
    billing_settings.write_in(txn, current, settings, plan=(plan, interval))
    txn.update("wallet", WalletModel(current.workspace_id), [WalletModel.plan.set(plan)], WalletModel.workspace_id.exists())
    before = {"plan": current.plan, "billing_interval": current.billing_interval}
    if before != {"plan": plan, "billing_interval": interval}:
        audit_in(
            txn,
            current.workspace_id,
            "stripe",
            "workspace.plan",
            before=before,
            after={"plan": plan, "billing_interval": interval, "status": sub.status},
            reason=f"subscription {sub.subscription_id}",
        )
    return True


def sync_workspace(workspace_id: str, subscription_id: str) -> bool:
    """Writes: plan/interval of the workspace (and the wallet's plan for the next rollover) from
    the subscription, if it is the current one or may become it. True when the workspace follows it."""
    sub = SubscriptionModel.get(subscription_id, consistent_read=True)
    return billing_settings.transact(workspace_id, lambda current, txn: _synced(current, sub, txn))


def _follows(workspace_id: str, subscription_id: str) -> bool:
    return billing_settings.read(workspace_id).subscription_id == subscription_id


def upgrade(event_id: str, workspace_id: str, subscription_id: str, plan: str) -> Result:
    """Writes: the plan's allowance for this month, raised once per (subscription, plan, month)."""
    now = clock.now()
    source = f"{subscription_id}:{plan}:{period_of(now)}"
    granted = raise_allowance(
        workspace_id, plan, get_plan(plan).monthly_allowance, source=source, now=now, markers=(event_marker(event_id),)
    )
    if granted is None:  # this event was applied already, or this upgrade through another path
        if not seen(event_id):
            record_only(event_id, workspace_id, f"upgrade {source} already applied")
        return Result("duplicate", source)
    return Result("applied", f"allowance +{granted} for {source}")


# --- events -------------------------------------------------------------------------------------


def checkout_subscription(event: Event[CheckoutSession], workspace: BilledWorkspace) -> Result:
    """A completed subscription checkout: the plan named by our metadata, if the money covers it."""
    session = event.data.object
    sub_id = str(session.subscription)
    metadata = meta(session)
    key = (metadata.get("plan", ""), metadata.get("interval", ""))
    if key not in PLAN_PRICES_CENTS:
        raise Rejected("subscription checkout without a known plan and interval", "metadata.plan")
    paid = session.payment_status == "paid"
    if paid:
        require_usd(session.currency, "the subscription")
        if session.amount_total is None or session.amount_total < PLAN_PRICES_CENTS[key]:
            raise Rejected(
                f"{session.amount_total} cents paid is less than {key[0]}/{key[1]}'s price of {PLAN_PRICES_CENTS[key]}",
                "amount_total",
            )
    other = live_other(workspace.settings, sub_id)
    if other:
        logger.error(
            "a second subscription was paid for",
            extra={"error_code": "duplicate_subscription", "workspace_id": workspace.workspace_id},
        )
        raise Rejected(
            f"the workspace already has the live subscription {other}; {sub_id} was not applied (cancel and refund it in Stripe)",
            "data.object.subscription",
        )
    ws = workspace.workspace_id
    remember_customer(workspace, session.customer)
    # Until its own events say more: live once paid, not before (no plan limits on credit).
    state = SubState(sub_id, "active" if paid else "incomplete", session.customer, key[0], key[1])
    if _store(event.created, ws, state, rank=0, deleted=False):
        sync_workspace(ws, sub_id)
    if paid and session.invoice and _follows(ws, sub_id):
        return upgrade(event.id, ws, sub_id, key[0])
    return record_only(event.id, ws, "subscription started")


def on_subscription(event: Event[Subscription]) -> Result:
    sub = event.data.object
    kind = event.type.rsplit(".", 1)[1]
    workspace = resolve_workspace([meta(sub).get("workspace_id")], sub.customer)
    if workspace is None:
        return Result("ignored", "no workspace for this subscription")
    state = state_of(sub, deleted=kind == "deleted")
    ws = workspace.workspace_id
    before = _row(sub.id)
    remember_customer(workspace, sub.customer)
    if not _store(event.created, ws, state, rank=0 if kind == "created" else 1, deleted=kind == "deleted"):
        result = record_only(event.id, ws, "older than the state we have")
        return result if result.outcome == "duplicate" else Result("ignored", "stale event")
    if not sync_workspace(ws, sub.id):
        result = record_only(event.id, ws, "not the workspace's current subscription")
        return result if result.outcome == "duplicate" else Result("ignored", "not the workspace's subscription")
    raised = (
        before is not None
        and not before.deleted
        and get_plan(state.plan).monthly_allowance > get_plan(before.plan).monthly_allowance
    )
    if kind == "updated" and state.status == "active" and raised:
        return upgrade(event.id, ws, sub.id, state.plan)
    return record_only(event.id, ws, f"subscription {kind}")


def _subscription_id_of(invoice: Invoice) -> str | None:
    if invoice.subscription:
        return invoice.subscription
    details = invoice.parent.subscription_details if invoice.parent else None
    return details.subscription if details else None


def _invoice_workspace(invoice: Invoice) -> BilledWorkspace | None:
    details = invoice.parent.subscription_details if invoice.parent else None
    named = [meta(invoice).get("workspace_id"), meta(details).get("workspace_id") if details else None]
    return resolve_workspace(named, invoice.customer)


def _plan_of_first_invoice(invoice: Invoice, subscription_id: str) -> str | None:
    """From the invoice's plan price (older API versions carry it), else from our row; None
    once the subscription has ended."""
    row = _row(subscription_id)
    prices = [plan_of_price(line.price) for line in (invoice.lines.data if invoice.lines else []) if (line.amount or 0) > 0]
    if row is not None and not _live(row):
        return None
    plans = [p[0] for p in prices if p]
    if plans:
        return plans[0]
    return row.plan if row is not None and row.plan != "free" else None


def on_invoice_paid(event: Event[Invoice]) -> Result:
    invoice = event.data.object
    subscription_id = _subscription_id_of(invoice)
    workspace = _invoice_workspace(invoice)
    if workspace is None or subscription_id is None:
        return Result("ignored", "not a subscription invoice of ours")
    plan = None
    if invoice.billing_reason == "subscription_create":
        plan = _plan_of_first_invoice(invoice, subscription_id)
        if plan:
            require_usd(invoice.currency, "the invoice")
    ws = workspace.workspace_id
    _clear_past_due(subscription_id, ws)
    if plan and live_other(billing_settings.read(ws), subscription_id) is None:
        return upgrade(event.id, ws, subscription_id, plan)
    return record_only(event.id, ws, "invoice paid")


def on_invoice_payment_failed(event: Event[Invoice]) -> Result:
    invoice = event.data.object
    subscription_id = _subscription_id_of(invoice)
    workspace = _invoice_workspace(invoice)
    if workspace is None or subscription_id is None:
        return Result("ignored", "not a subscription invoice of ours")
    ws = workspace.workspace_id
    try:
        SubscriptionModel(subscription_id).update(
            actions=[SubscriptionModel.past_due_since.set(event.created), SubscriptionModel.status.set("past_due")],
            condition=SubscriptionModel.past_due_since.does_not_exist() & (SubscriptionModel.deleted == False),  # noqa: E712
        )
        sync_workspace(ws, subscription_id)
    except UpdateError:
        pass  # already past due (keep the first failure's time), gone, or never seen
    logger.warning("subscription payment failed", extra={"error_code": "payment_failed", "workspace_id": ws})
    return record_only(event.id, ws, "past due")


def _clear_past_due(subscription_id: str, workspace_id: str) -> None:
    try:
        SubscriptionModel(subscription_id).update(
            actions=[SubscriptionModel.past_due_since.remove(), SubscriptionModel.status.set("active")],
            condition=SubscriptionModel.past_due_since.exists() & (SubscriptionModel.deleted == False),  # noqa: E712
        )
        sync_workspace(workspace_id, subscription_id)
    except UpdateError:
        pass
