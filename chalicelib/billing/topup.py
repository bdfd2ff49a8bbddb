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
import time
from dataclasses import asdict, dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock, ids
from chalicelib.accounting.periods import period_of
from chalicelib.aws import client, queue_url
from chalicelib.billing import gateway
from chalicelib.billing.catalog import topup_amount_cents
from chalicelib.billing.errors import BilledByInvoice, TopupAboveCap
from chalicelib.bootstrap import on_reset, ready
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings
from chalicelib.store import billing_settings
from chalicelib.store.audit import audit
from chalicelib.store.models import MarkerModel, TopupModel, WalletModel
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.webhooks.producers import topup_finished

MAX_CONSECUTIVE_FAILURES = 3
# A claim younger than this may still have its billing worker (its Lambda timeout, .chalice/config.json):
# another trigger leaves it alone. An older one has no worker left, and the next trigger resumes it.
CLAIM_LIVE_S = 60


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoTopupState:
    """A workspace's auto top-up as its owner sees it (`auto_topup` of GET /v1/balance)."""

    enabled: bool
    threshold: int
    amount: int
    monthly_cap: int
    granted_this_month: int
    consecutive_failures: int
    disabled_reason: str | None
    pending: bool


def state(workspace_id: str) -> AutoTopupState | None:
    """None when auto top-up was never configured."""
    try:
        return _state_of(TopupModel.get(workspace_id, consistent_read=True))
    except TopupModel.DoesNotExist:
        return None


def _state_of(t: TopupModel) -> AutoTopupState:
    current = t.period == period_of(clock.now())
    return AutoTopupState(
        enabled=bool(t.enabled),
        threshold=int(t.threshold),
        amount=int(t.amount),
        monthly_cap=int(t.monthly_cap),
        granted_this_month=int(t.granted_this_period) if current else 0,
        consecutive_failures=int(t.consecutive_failures),
        disabled_reason=t.disabled_reason,
        pending=bool(t.pending_payment_intent),
    )


def configure(workspace_id: str, *, enabled: bool, threshold: int, amount: int, monthly_cap: int, actor: str) -> AutoTopupState:
    """PUT /v1/billing/auto-topup: (re)configure; enabling clears a previous failure streak.
    Refused, changing nothing: an amount over the monthly cap (400), and enabling it for an
    invoiced (internal billing) workspace (409). Turning it off is always fine."""
    if enabled and amount > monthly_cap:
        raise TopupAboveCap("amount must not exceed monthly_cap", field="amount")
    if enabled and _invoiced(workspace_id):
        raise BilledByInvoice("this workspace is billed by invoice: auto top-up buys credits by card, ask your account manager")
    now = clock.now()
    found = state(workspace_id)
    before = asdict(found) if found is not None else None
    actions: list[Any] = [
        TopupModel.enabled.set(enabled),
        TopupModel.threshold.set(threshold),
        TopupModel.amount.set(amount),
        TopupModel.monthly_cap.set(monthly_cap),
        TopupModel.updated_at.set(now),
    ]
    if enabled:
        actions += [TopupModel.consecutive_failures.set(0), TopupModel.disabled_reason.remove()]
    row = TopupModel(workspace_id)
    row.update(actions=actions)  # the row now holds the item as written (pynamodb reads ALL_NEW)
    after = _state_of(row)
    _settings_cache.pop(workspace_id, None)
    audit(workspace_id, actor, "billing.auto_topup", before=before, after=asdict(after), now=now)
    return after


def _invoiced(workspace_id: str) -> bool:
    """Invoiced workspaces are never charged by card, even with a Stripe customer from before."""
    return billing_settings.read(workspace_id).invoiced


_settings_cache: dict[str, tuple[float, TopupModel | None]] = {}
SETTINGS_CACHE_S = 60.0


@on_reset
def reset() -> None:
    """Forget the cached top-up settings."""
    _settings_cache.clear()


def _cached_settings(workspace_id: str) -> TopupModel | None:
    """A workspace's top-up settings, re-read at most once a minute per container: most
    workspaces never enable it, and a settlement should not pay a read to learn that again."""
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


def low_balance_threshold(workspace_id: str) -> int | None:
    """The owner's own "low" level: the auto top-up threshold once configured (on or off), for
    the balance.low event (webhooks/balance_low.py); None when never configured."""
    t = _cached_settings(workspace_id)
    return int(t.threshold) if t is not None else None


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
    client("sqs").send_message(
        QueueUrl=queue_url(get_settings().billing_queue_name),
        MessageBody=json.dumps({"type": "auto_topup", "workspace_id": workspace_id}),
    )
    count("AutoTopupsQueued")
    return True


# --- the billing worker: decide, claim the cycle, pay -------------------------------------------


def _skip_reason(t: TopupModel, workspace_id: str, period: str) -> str | None:
    """Reads only. Why no payment is made now (None: one is due, or one was claimed and not sent)."""
    if not t.enabled:
        return "disabled"
    if _invoiced(workspace_id):
        logger.info("auto top-up skipped: invoiced workspace", extra={"workspace_id": workspace_id})
        return "internal_billing"
    if t.pending_payment_intent and not str(t.pending_payment_intent).startswith("key:"):
        return "in_flight"
    wallet = WalletModel.get(workspace_id, consistent_read=True)
    if not t.pending_payment_intent and int(wallet.available) >= int(t.threshold):
        return "not_needed"  # a manual top-up (or a refund of a hold) got there first
    if _granted(t, period) + int(t.amount) > int(t.monthly_cap):
        logger.warning("auto top-up cap reached", extra={"error_code": "auto_topup_cap", "workspace_id": workspace_id})
        return "cap_reached"
    return None


def _granted(t: TopupModel, period: str) -> int:
    return int(t.granted_this_period) if t.period == period else 0


def run_topup(workspace_id: str) -> str:
    """The billing worker's part: decide, claim the cycle, and ask Stripe for the payment."""
    period = period_of(clock.now())
    try:
        t = TopupModel.get(workspace_id, consistent_read=True)
    except TopupModel.DoesNotExist:
        return "not_configured"
    skip = _skip_reason(t, workspace_id, period)
    if skip is not None:
        return skip
    pending = str(t.pending_payment_intent or "")
    request = _resume(workspace_id, pending[4:], t, period) if pending.startswith("key:") else _claim(t, workspace_id, period)
    if request is None:  # another trigger claimed the cycle, or is still sending its claim
        return "claimed_elsewhere"
    return _charge(workspace_id, request)


def _resume(workspace_id: str, key: str, t: TopupModel, period: str) -> dict[str, Any] | None:
    """After a crash the claim is resumed: same key, same request, same PaymentIntent. A claim
    younger than CLAIM_LIVE_S is left to the worker still sending it (None): resuming it too would
    be safe (Stripe's idempotency key), but it would send Stripe a second request for nothing."""
    try:
        recorded = MarkerModel.get(f"topup_request:{key}", consistent_read=True)
    except MarkerModel.DoesNotExist:  # claimed before requests were recorded
        request = _request(workspace_id, key, int(t.amount), period)
        MarkerModel(f"topup_request:{key}", data=request, created_at=clock.now()).save()
        return request
    if recorded.created_at is not None and (clock.now() - recorded.created_at).total_seconds() < CLAIM_LIVE_S:
        return None
    return dict(recorded.data)


def _claim(t: TopupModel, workspace_id: str, period: str) -> dict[str, Any] | None:
    """Claim this cycle (only one trigger gets it) and record what it buys, in one transaction:
    the webhook grants exactly the recorded credits for exactly the recorded amount."""
    attempts = int(t.attempts_this_period) if t.period == period else 0
    request = _request(workspace_id, f"topup:{workspace_id}:{period}:{attempts}", int(t.amount), period)
    stored = int(t.attempts_this_period)
    same_attempts = TopupModel.attempts_this_period == stored
    if stored == 0:  # never written yet (a default is not stored)
        same_attempts = same_attempts | TopupModel.attempts_this_period.does_not_exist()
    txn = Transaction()
    txn.update(
        "topup",
        t,
        [
            TopupModel.period.set(period),
            TopupModel.granted_this_period.set(_granted(t, period)),
            TopupModel.attempts_this_period.set(attempts + 1),
            TopupModel.pending_payment_intent.set(f"key:{request['key']}"),
        ],
        TopupModel.pending_payment_intent.does_not_exist() & same_attempts,
    )
    txn.put(
        "request",
        MarkerModel(f"topup_request:{request['key']}", data=request, created_at=clock.now()),
        MarkerModel.marker.does_not_exist(),
    )
    try:
        txn.commit()
    except TransactionCancelled:
        return None
    return request


def _request(workspace_id: str, key: str, credits: int, period: str) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "key": key,
        "credits": credits,
        "amount_cents": topup_amount_cents(credits),
        "period": period,
    }


def _charge(workspace_id: str, request: dict[str, Any]) -> str:
    """Ask Stripe for the off-session payment; credits come later, with its webhook event."""
    import stripe

    key = str(request["key"])
    settings = billing_settings.read(workspace_id)
    if not settings.customer_id:
        _fail(workspace_id, "no saved customer to charge", key)
        return "no_customer"
    metadata = {
        "kind": "auto_topup",
        "workspace_id": workspace_id,
        "credits": str(request["credits"]),
        "period": str(request["period"]),
        "topup_key": key,
    }
    try:
        intent = gateway.create_off_session_payment(
            settings.customer_id, settings.payment_method, int(request["amount_cents"]), metadata, key
        )
    except stripe.CardError as exc:
        _fail(workspace_id, f"card declined: {exc.user_message or exc.code}", _declined_intent(exc.json_body) or key)
        return "declined"
    _remember_intent(workspace_id, key, str(intent.id))
    count("AutoTopupsRequested")
    return "requested"


def _declined_intent(body: Any) -> str | None:
    """The id of the PaymentIntent a card error names (Stripe creates one even when it declines)."""
    error = body.get("error") if isinstance(body, dict) else None
    intent = error.get("payment_intent") if isinstance(error, dict) else None
    return str(intent["id"]) if isinstance(intent, dict) and intent.get("id") else None


def _remember_intent(workspace_id: str, key: str, intent_id: str) -> None:
    """Stripe may deliver `payment_intent.succeeded` before its answer arrives; then the webhook
    has already closed the cycle and there is nothing to remember."""
    try:
        TopupModel(workspace_id).update(
            actions=[TopupModel.pending_payment_intent.set(intent_id)],
            condition=TopupModel.pending_payment_intent == f"key:{key}",
        )
    except UpdateError:
        pass


def _fail(workspace_id: str, why: str, attempt: str) -> None:
    txn = Transaction()
    record_failure(txn, workspace_id, attempt)
    try:
        txn.commit()
    except TransactionCancelled:
        return  # the webhook counted this failure already
    logger.warning("auto top-up failed", extra={"error_code": "auto_topup_failed", "workspace_id": workspace_id, "reason": why})
    topup_finished(workspace_id, attempt, succeeded=False, reason=why)
    disable_if_failing(workspace_id)


def record_failure(txn: Transaction, workspace_id: str, attempt: str) -> None:
    """Count a failed top-up once (the decline answer and the webhook both report it) and free the cycle."""
    txn.put(
        "failure",
        MarkerModel(f"topup_failure:{attempt}", data={"workspace_id": workspace_id}, created_at=clock.now()),
        MarkerModel.marker.does_not_exist(),
    )
    txn.update(
        "topup",
        TopupModel(workspace_id),
        [
            TopupModel.consecutive_failures.add(1),
            TopupModel.pending_payment_intent.remove(),
            TopupModel.updated_at.set(clock.now()),
        ],
    )


def disable_if_failing(workspace_id: str) -> bool:
    """After 3 consecutive failures: disable, audit, notify the owner."""
    try:
        TopupModel(workspace_id).update(
            actions=[
                TopupModel.enabled.set(False),
                TopupModel.disabled_reason.set(f"{MAX_CONSECUTIVE_FAILURES} consecutive payment failures"),
            ],
            condition=(TopupModel.enabled == True) & (TopupModel.consecutive_failures >= MAX_CONSECUTIVE_FAILURES),  # noqa: E712
        )
    except UpdateError:
        return False
    audit(
        workspace_id, "system", "billing.auto_topup_disabled", after={"enabled": False}, reason="3 consecutive payment failures"
    )
    notify_owner(
        workspace_id,
        "auto_topup_disabled",
        "Auto top-up was turned off after 3 failed payments. Update your payment method and re-enable it.",
    )
    return True


def notify_owner(workspace_id: str, kind: str, text: str) -> None:
    """The owner's notification (the notification service reads these log lines)."""
    count("Notifications", kind=kind)
    logger.error("notify workspace owner", extra={"error_code": kind, "workspace_id": workspace_id, "notice": text})


def on_success_actions(txn: Transaction, workspace_id: str, credits: int, period: str | None) -> None:
    """In the grant's transaction: count the credits against the month and end the streak."""
    current = period_of(clock.now())
    actions: list[Any] = [
        TopupModel.consecutive_failures.set(0),
        TopupModel.pending_payment_intent.remove(),
        TopupModel.updated_at.set(clock.now()),
    ]
    if period == current:
        actions.append(TopupModel.granted_this_period.add(credits))
    txn.update("topup", TopupModel(workspace_id), actions)


def _billing_message(record: Any) -> str:
    """One billing-queue record: a top-up request for a workspace (anything else is ignored)."""
    body = json.loads(record.body)
    if body.get("type") != "auto_topup" or not ids.is_id(str(body.get("workspace_id")), "ws"):
        return "ignored"
    return run_topup(str(body["workspace_id"]))


def handle_billing_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The billing queue's Lambda: each record is one top-up request (partial batch failures)."""
    # Powertools' batch utility costs ~30 ms to import: only the billing worker pays it.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    ready()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_billing_message, processor=processor, context=context))
