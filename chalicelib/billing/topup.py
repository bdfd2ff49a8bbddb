"""Auto top-up: when a settlement leaves `available` below the threshold, buy more, off-session.

- Triggered after settlement, but never inline: a message goes to the billing queue and the
  billing worker makes the Stripe call.
- One idempotency key per (workspace, period, cycle): two triggers racing for the same cycle
  claim it with a conditional write, and Stripe answers the same PaymentIntent to both keys.
- Never above the monthly cap (counted in credits granted this period plus the one in flight).
- Re-checks `available` before paying, so a manual top-up that raced it makes it unnecessary.
- The claim records what the cycle buys (`topup_request:<key>`: credits and amount in cents, from
  the catalog): the webhook grants exactly that, only for a payment of exactly that amount.
- Credits arrive only with `payment_intent.succeeded`; after 3 consecutive failures auto top-up
  is disabled, audited and the owner notified (an error log line with `error_code`).
- Never for an invoiced (internal billing) workspace, even one with a Stripe customer from before.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock, ids
from chalicelib.accounting.periods import period_of
from chalicelib.billing.catalog import topup_amount_cents
from chalicelib.bootstrap import on_reset
from chalicelib.observability import count, logger
from chalicelib.store.models import AuditModel, TopupModel, WalletModel, WorkspaceModel
from chalicelib.store.transaction import Transaction

MAX_CONSECUTIVE_FAILURES = 3


def view(workspace_id: str) -> dict[str, Any] | None:
    """The `auto_topup` object of GET /v1/balance (None when never configured)."""
    try:
        t = TopupModel.get(workspace_id, consistent_read=True)
    except TopupModel.DoesNotExist:
        return None
    current = t.period == period_of(clock.now())
    return {
        "enabled": bool(t.enabled),
        "threshold": int(t.threshold),
        "amount": int(t.amount),
        "monthly_cap": int(t.monthly_cap),
        "granted_this_month": int(t.granted_this_period) if current else 0,
        "consecutive_failures": int(t.consecutive_failures),
        "disabled_reason": t.disabled_reason,
        "pending": bool(t.pending_payment_intent),
    }


def configure(workspace_id: str, *, enabled: bool, threshold: int, amount: int, monthly_cap: int, actor: str) -> dict[str, Any]:
    """PUT /v1/billing/auto-topup: (re)configure; enabling clears a previous failure streak.
    An invoiced (internal billing) workspace cannot enable it: 409, nothing changes."""
    if enabled and _internal(workspace_id):
        from chalicelib.api.errors import Conflict

        raise Conflict("this workspace is billed by invoice: auto top-up buys credits by card, ask your account manager")
    now = clock.now()
    before = view(workspace_id)
    actions = [
        TopupModel.enabled.set(enabled), TopupModel.threshold.set(threshold), TopupModel.amount.set(amount),
        TopupModel.monthly_cap.set(monthly_cap), TopupModel.updated_at.set(now),
    ]
    if enabled:
        actions += [TopupModel.consecutive_failures.set(0), TopupModel.disabled_reason.remove()]
    TopupModel(workspace_id).update(actions=actions)
    after = view(workspace_id)
    _settings_cache.pop(workspace_id, None)
    AuditModel(workspace_id, ids.new_id("aud", now), actor=actor, action="billing.auto_topup", before=before,
               after=after, created_at=now).save()
    return after or {}


def _internal(workspace_id: str) -> bool:
    """Invoiced workspaces are never charged by card, even with a Stripe customer from before."""
    from chalicelib.billing.provider import provider_for

    return provider_for(WorkspaceModel.get(workspace_id, consistent_read=True)).name == "internal"


_settings_cache: dict[str, tuple[float, TopupModel | None]] = {}
SETTINGS_CACHE_S = 60.0


@on_reset
def reset() -> None:
    """Forget the cached top-up settings."""
    _settings_cache.clear()


def _cached_settings(workspace_id: str) -> TopupModel | None:
    """A workspace's top-up settings, re-read at most once a minute per container: most
    workspaces never enable it, and a settlement should not pay a read to learn that again."""
    import time

    now = time.monotonic()
    hit = _settings_cache.get(workspace_id)
    if hit is not None and now - hit[0] < SETTINGS_CACHE_S:
        return hit[1]
    try:
        value: TopupModel | None = TopupModel.get(workspace_id)
    except TopupModel.DoesNotExist:
        value = None
    if len(_settings_cache) > 10_000:
        _settings_cache.clear()
    _settings_cache[workspace_id] = (now, value)
    return value


def after_settlement(workspace_id: str) -> bool:
    """Called by the worker after a settlement: queue a top-up if one is due. Cheap when off.

    The settings may be up to a minute old here; `run_topup` re-reads everything before paying.
    """
    t = _cached_settings(workspace_id)
    if t is None or not t.enabled:
        return False
    available = int(WalletModel.get(workspace_id, attributes_to_get=["available"]).available)
    if available >= int(t.threshold):
        return False
    from chalicelib.aws import client, queue_url
    from chalicelib.settings import get_settings

    client("sqs").send_message(QueueUrl=queue_url(get_settings().billing_queue_name),
                               MessageBody=json.dumps({"type": "auto_topup", "workspace_id": workspace_id}))
    count("AutoTopupsQueued")
    return True


def run_topup(workspace_id: str) -> str:
    """The billing worker's part: decide, claim the cycle, and ask Stripe for the payment."""
    period = period_of(clock.now())
    try:
        t = TopupModel.get(workspace_id, consistent_read=True)
    except TopupModel.DoesNotExist:
        return "not_configured"
    if not t.enabled:
        return "disabled"
    if _internal(workspace_id):
        logger.info("auto top-up skipped: invoiced workspace", extra={"workspace_id": workspace_id})
        return "internal_billing"
    granted = int(t.granted_this_period) if t.period == period else 0
    if t.pending_payment_intent and not str(t.pending_payment_intent).startswith("key:"):
        return "in_flight"
    wallet = WalletModel.get(workspace_id, consistent_read=True)
    if not t.pending_payment_intent and int(wallet.available) >= int(t.threshold):
        return "not_needed"  # a manual top-up (or a refund of a hold) got there first
    if granted + int(t.amount) > int(t.monthly_cap):
        logger.warning("auto top-up cap reached", extra={"error_code": "auto_topup_cap", "workspace_id": workspace_id})
        return "cap_reached"
    request = _claim(t, workspace_id, period, granted)
    if request is None:
        return "claimed_elsewhere"
    return _charge(workspace_id, request)


def _claim(t: TopupModel, workspace_id: str, period: str, granted: int) -> dict[str, Any] | None:
    """Claim this cycle (only one trigger gets it) and record what it buys, in one transaction:
    the webhook grants exactly the recorded credits for exactly the recorded amount. After a
    crash the claim is resumed: same key, same request, same PaymentIntent."""
    from chalicelib.store.models import MarkerModel
    from chalicelib.store.transaction import TransactionCancelled

    pending = str(t.pending_payment_intent or "")
    if pending.startswith("key:"):
        try:
            return dict(MarkerModel.get(f"topup_request:{pending[4:]}", consistent_read=True).data)
        except MarkerModel.DoesNotExist:  # claimed before requests were recorded
            request = _request(workspace_id, pending[4:], int(t.amount), period)
            MarkerModel(f"topup_request:{request['key']}", data=request, created_at=clock.now()).save()
            return request
    attempts = int(t.attempts_this_period) if t.period == period else 0
    request = _request(workspace_id, f"topup:{workspace_id}:{period}:{attempts}", int(t.amount), period)
    stored = int(t.attempts_this_period)
    same_attempts = TopupModel.attempts_this_period == stored
    if stored == 0:  # never written yet (a default is not stored)
        same_attempts = same_attempts | TopupModel.attempts_this_period.does_not_exist()
    txn = Transaction()
    txn.update("topup", t, [
        TopupModel.period.set(period), TopupModel.granted_this_period.set(granted),
        TopupModel.attempts_this_period.set(attempts + 1), TopupModel.pending_payment_intent.set(f"key:{request['key']}"),
    ], TopupModel.pending_payment_intent.does_not_exist() & same_attempts)
    txn.put("request", MarkerModel(f"topup_request:{request['key']}", data=request, created_at=clock.now()),
            MarkerModel.marker.does_not_exist())
    try:
        txn.commit(WalletModel._get_connection().connection)
    except TransactionCancelled:
        return None
    return request


def _request(workspace_id: str, key: str, credits: int, period: str) -> dict[str, Any]:
    return {"workspace_id": workspace_id, "key": key, "credits": credits, "amount_cents": topup_amount_cents(credits),
            "period": period}


def _charge(workspace_id: str, request: dict[str, Any]) -> str:
    from chalicelib.billing import gateway

    key = str(request["key"])
    billing = WorkspaceModel.get(workspace_id, consistent_read=True).billing or {}
    customer = billing.get("customer_id")
    if not customer:
        _fail(workspace_id, "no saved customer to charge", key)
        return "no_customer"
    metadata = {"kind": "auto_topup", "workspace_id": workspace_id, "credits": str(request["credits"]),
                "period": str(request["period"]), "topup_key": key}
    import stripe

    try:
        intent = gateway.create_off_session_payment(customer, billing.get("payment_method"),
                                                    int(request["amount_cents"]), metadata, key)
    except stripe.CardError as exc:
        failed_intent = ((exc.json_body or {}).get("error") or {}).get("payment_intent") or {}
        _fail(workspace_id, f"card declined: {exc.user_message or exc.code}", failed_intent.get("id") or key)
        return "declined"
    try:
        # Stripe may deliver `payment_intent.succeeded` before this answer arrives; then the
        # webhook has already closed the cycle and there is nothing to remember.
        TopupModel(workspace_id).update(actions=[TopupModel.pending_payment_intent.set(str(intent.id))],
                                        condition=TopupModel.pending_payment_intent == f"key:{key}")
    except UpdateError:
        pass
    count("AutoTopupsRequested")
    return "requested"


def _fail(workspace_id: str, why: str, attempt: str) -> None:
    from chalicelib.store.transaction import TransactionCancelled

    txn = Transaction()
    record_failure(txn, workspace_id, attempt)
    try:
        txn.commit(WalletModel._get_connection().connection)
    except TransactionCancelled:
        return  # the webhook counted this failure already
    logger.warning("auto top-up failed", extra={"error_code": "auto_topup_failed", "workspace_id": workspace_id,
                                                "reason": why})
    disable_if_failing(workspace_id)


def record_failure(txn: Transaction, workspace_id: str, attempt: str) -> None:
    """Count a failed top-up once (the decline answer and the webhook both report it) and free the cycle."""
    from chalicelib.store.models import MarkerModel

    txn.put("failure", MarkerModel(f"topup_failure:{attempt}", data={"workspace_id": workspace_id},
                                   created_at=clock.now()), MarkerModel.marker.does_not_exist())
    txn.update("topup", TopupModel(workspace_id), [
        TopupModel.consecutive_failures.add(1), TopupModel.pending_payment_intent.remove(),
        TopupModel.updated_at.set(clock.now()),
    ])


def disable_if_failing(workspace_id: str) -> bool:
    """After 3 consecutive failures: disable, audit, notify the owner."""
    now = clock.now()
    try:
        TopupModel(workspace_id).update(
            actions=[TopupModel.enabled.set(False),
                     TopupModel.disabled_reason.set(f"{MAX_CONSECUTIVE_FAILURES} consecutive payment failures")],
            condition=(TopupModel.enabled == True) & (TopupModel.consecutive_failures >= MAX_CONSECUTIVE_FAILURES),  # noqa: E712
        )
    except UpdateError:
        return False
    AuditModel(workspace_id, ids.new_id("aud", now), actor="system", action="billing.auto_topup_disabled",
               after={"enabled": False}, reason="3 consecutive payment failures", created_at=now).save()
    notify_owner(workspace_id, "auto_topup_disabled",
                 "Auto top-up was turned off after 3 failed payments. Update your payment method and re-enable it.")
    return True


def notify_owner(workspace_id: str, kind: str, text: str) -> None:
    """The owner's notification (the notification service reads these log lines)."""
    count("Notifications", kind=kind)
    logger.error("notify workspace owner", extra={"error_code": kind, "workspace_id": workspace_id, "notice": text})


def on_success_actions(txn: Transaction, workspace_id: str, credits: int, period: str | None) -> None:
    """In the grant's transaction: count the credits against the month and end the streak."""
    current = period_of(clock.now())
    actions = [TopupModel.consecutive_failures.set(0), TopupModel.pending_payment_intent.remove(),
               TopupModel.updated_at.set(clock.now())]
    if period == current:
        actions.append(TopupModel.granted_this_period.add(credits))
    txn.update("topup", TopupModel(workspace_id), actions)


def handle_billing_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The billing queue's Lambda: each record is one top-up request (partial batch failures)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from chalicelib.store import bind_models

    bind_models()

    def record_handler(record: Any) -> str:
        body = json.loads(record.body)
        if body.get("type") != "auto_topup" or not ids.is_id(str(body.get("workspace_id")), "ws"):
            return "ignored"
        return run_topup(str(body["workspace_id"]))

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
