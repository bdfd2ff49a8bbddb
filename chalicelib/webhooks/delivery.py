"""Delivery: each event becomes one delivery row per matching endpoint, each delivery a series
of signed attempts on the Standard Webhooks schedule.

Invariants (tests/functional/test_webhooks_delivery.py tries to break each):
- One delivery per (event, endpoint): its id is derived from both, written with a condition.
- One HTTP attempt per attempt number: a consumer claims it with a conditional write first, so
  duplicate SQS messages and replays racing a retry send it once.
- Every attempt keeps the same `webhook-id` (the event id): receivers dedupe on it.
- A 410 disables the endpoint; failures for DISABLE_AFTER_S disable it, audited, owner notified.
- The URL is checked by the SSRF guard again before every attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from chalicelib import clock
from chalicelib.bootstrap import ready
from chalicelib.integrations import ifttt_realtime
from chalicelib.mobile import push
from chalicelib.observability import count, logger, report_exception
from chalicelib.store import webhook_deliveries, webhook_endpoints, webhook_events
from chalicelib.store.audit import audit
from chalicelib.store.models import WebhookDeliveryModel, WebhookEndpointModel, WebhookEventModel
from chalicelib.webhooks import balance_low, outbox, queue, signing, ssrf, transport
from chalicelib.webhooks.endpoints import signing_secrets
from chalicelib.webhooks.errors import UnsafeUrl
from chalicelib.webhooks.events import delivery_id as derive_delivery_id

# Standard Webhooks' retry schedule: the delay before attempt 1, 2, ... 10 (seconds).
SCHEDULE_S: Final = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
DISABLE_AFTER_S: Final = 5 * 24 * 3600


def body_of(event: WebhookEventModel) -> str:
    """The signed body: `{"type", "timestamp", "data"}` (compact JSON, the exact bytes signed)."""
    payload = {"type": event.type, "timestamp": clock.iso(event.occurred_at), "data": event.data or {}}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


# --- fan-out ----------------------------------------------------------------------------------


def fan_out(workspace_id: str, event_id: str) -> int:
    """One delivery per endpoint listening now; returns how many attempts were queued."""
    event = webhook_events.get(workspace_id, event_id)
    if event is None or event.fanned_out:
        return 0
    queued = 0
    for endpoint in webhook_endpoints.subscribed(workspace_id, event.type):
        if endpoint.kind == "ifttt" and not ifttt_realtime.active_identities(endpoint, int(clock.now().timestamp())):
            continue  # no applet polls this trigger any more
        delivery = derive_delivery_id(event_id, endpoint.endpoint_id, event.occurred_at)
        created = webhook_deliveries.insert(
            workspace_id, delivery, endpoint_id=endpoint.endpoint_id, event_id=event_id, event_type=event.type, at=clock.now()
        )
        if created or _never_attempted(workspace_id, delivery):  # a crash between insert and send
            queue.send(queue.attempt_message(workspace_id, delivery, 0, int(clock.now().timestamp())))
            queued += 1
    webhook_events.mark_fanned_out(workspace_id, event_id)
    return queued


def _never_attempted(workspace_id: str, delivery_id: str) -> bool:
    row = webhook_deliveries.get(workspace_id, delivery_id)
    return row is not None and row.status == "pending" and int(row.attempts_made) == 0


# --- one attempt ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What one attempt message asks for."""

    workspace_id: str
    delivery_id: str
    number: int  # 0-based
    due: int  # epoch seconds


def run_attempt(job: Attempt) -> str:
    """Make attempt `job.number` of a delivery if it is due and still ours; returns what happened."""
    now = clock.now()
    if job.due > int(now.timestamp()):
        queue.send(queue.attempt_message(job.workspace_id, job.delivery_id, job.number, job.due), job.due - int(now.timestamp()))
        return "not_due"
    delivery = webhook_deliveries.get(job.workspace_id, job.delivery_id)
    if delivery is None or delivery.status != "pending" or int(delivery.attempts_made) != job.number:
        return "stale"
    endpoint = webhook_endpoints.get(job.workspace_id, delivery.endpoint_id)
    if endpoint is None or endpoint.status != "enabled":
        webhook_deliveries.give_up(delivery, "endpoint_deleted" if endpoint is None else "endpoint_disabled", now)
        return "endpoint_gone"
    event = webhook_events.get(job.workspace_id, delivery.event_id)
    if event is None or not webhook_deliveries.claim_attempt(delivery, job.number):
        return "stale"
    answer = _send(endpoint, event, job)
    return _settle_attempt(delivery, endpoint, job, answer, now)


def _send(endpoint: WebhookEndpointModel, event: WebhookEventModel, job: Attempt) -> transport.Answer:
    """Check the URL again, sign, POST (an IFTTT row: a Realtime API call instead)."""
    if endpoint.kind == "ifttt":
        return ifttt_realtime.notify(endpoint, job.delivery_id, job.number, int(clock.now().timestamp()))
    try:
        target = ssrf.check_on_delivery(endpoint.url)
    except UnsafeUrl as refused:
        return transport.Answer(None, 0, None, f"refused: {refused.message}")
    body = body_of(event)
    secrets = signing_secrets(endpoint, int(clock.now().timestamp()))
    return transport.post(target, body, signing.headers(event.event_id, body, secrets))


def _settle_attempt(
    delivery: WebhookDeliveryModel, endpoint: WebhookEndpointModel, job: Attempt, answer: transport.Answer, now: datetime
) -> str:
    """Queue the next attempt first (a crash after it only repeats the record), then record."""
    record = {
        "at": int(now.timestamp()),
        "attempt": job.number + 1,
        "status_code": answer.status_code,
        "latency_ms": answer.latency_ms,
        "response": answer.excerpt,
        "error": answer.error,
    }
    count("WebhookAttempts", outcome="ok" if answer.ok else "failed")
    if answer.ok:
        webhook_deliveries.record_attempt(delivery, record, "succeeded", None, now)
        webhook_endpoints.record_success(endpoint)
        return "succeeded"
    if answer.status_code == 410:
        webhook_deliveries.record_attempt(delivery, record, "failed", None, now)
        _disable(endpoint, "the endpoint answered 410 Gone", now)
        return "gone"
    next_number = job.number + 1
    attempts = ifttt_realtime.ATTEMPTS if endpoint.kind == "ifttt" else len(SCHEDULE_S)
    next_at = int(now.timestamp()) + SCHEDULE_S[next_number] if next_number < attempts else None
    if next_at is not None:
        queue.send(
            queue.attempt_message(delivery.workspace_id, delivery.delivery_id, next_number, next_at),
            next_at - int(now.timestamp()),
        )
    webhook_deliveries.record_attempt(delivery, record, "pending" if next_at is not None else "failed", next_at, now)
    since = webhook_endpoints.record_failure(endpoint, int(now.timestamp()))
    # IFTTT's rows are the platform's own (its service key): never disabled on the workspace
    if endpoint.kind != "ifttt" and int(now.timestamp()) - since >= DISABLE_AFTER_S:
        _disable(endpoint, "failing for 5 days", now)
    return "retrying" if next_at is not None else "failed"


def _disable(endpoint: WebhookEndpointModel, reason: str, now: datetime) -> None:
    """Disable, audit and notify the owner, once (the condition picks one of racing consumers)."""
    if not webhook_endpoints.disable(endpoint, reason, now):
        return
    audit(
        endpoint.workspace_id, "system", "webhooks.endpoint_disabled", after={"id": endpoint.endpoint_id}, reason=reason, now=now
    )
    count("Notifications", kind="webhook_endpoint_disabled")
    logger.error(  # the owner's notification: the notification service reads these lines (as for top-ups)
        "notify workspace owner",
        extra={
            "error_code": "webhook_endpoint_disabled",
            "workspace_id": endpoint.workspace_id,
            "notice": f"Webhook endpoint {endpoint.endpoint_id} was disabled: {reason}. Fix it and enable it again.",
        },
    )


# --- the consumer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """What an event message carries (the outbox row to write)."""

    workspace_id: str
    event_id: str
    event_type: str
    data: dict[str, Any]
    occurred_at: datetime
    stored: bool = False  # its outbox row was written by the producer (or kept for the sweeper)


@dataclass(frozen=True)
class BalanceCheck:
    """Check a workspace's balance for balance.low (webhooks/balance_low.py)."""

    workspace_id: str


def _parse(raw: str) -> Event | Attempt | BalanceCheck | None:
    """An event, an attempt or a balance check; None for a malformed message."""
    try:
        body = json.loads(raw)
        if body["type"] == "balance_check":
            return BalanceCheck(str(body["workspace_id"]))
        if body["type"] == "event":
            at = clock.parse_iso(str(body["occurred_at"]))
            return Event(
                str(body["workspace_id"]),
                str(body["event_id"]),
                str(body["event_type"]),
                dict(body["data"]),
                at,
                body.get("stored") is True,
            )
        if body["type"] == "attempt":
            return Attempt(str(body["workspace_id"]), str(body["delivery_id"]), int(body["attempt"]), int(body["due"]))
    except (ValueError, KeyError, TypeError):
        pass
    return None


# Events whose settlement charged credits: after each, an auto top-up may be due.
CHARGING_EVENTS: Final = frozenset({"job.succeeded", "training.succeeded"})


def _topup_due(workspace_id: str) -> None:
    """Queue an auto top-up if the charge behind this event left the wallet below its threshold.

    Checked here, after the settlement's own event, rather than by the generation worker: the
    job is already settled and announced, this worker reads the same settings for balance.low,
    and the generation worker's path keeps only what the job needs. A duplicate event queues at
    most a duplicate request, which the billing worker's cycle claim makes pay once."""
    from chalicelib.billing.topup import after_settlement

    try:
        after_settlement(workspace_id)
    except Exception as exc:  # the event is recorded; a failed check must not fail its message
        report_exception(exc, "auto top-up check failed", "auto_topup_check_failed")


def _record(record: Any) -> str:
    """One webhooks-queue record; a malformed one is logged and dropped (retrying cannot fix it)."""
    receipts = push.parse_receipts(record.body)  # mobile push receipts (chalicelib/mobile/push.py)
    if receipts is not None:
        return push.check_receipts(receipts)
    work = _parse(record.body)
    if isinstance(work, Attempt):
        return run_attempt(work)
    if isinstance(work, Event):
        fanned = "nobody_listens_or_duplicate"
        if outbox.record(work.workspace_id, work.event_id, work.event_type, work.data, work.occurred_at, stored=work.stored):
            fanned = str(fan_out(work.workspace_id, work.event_id))
        if balance_low.watches(work.event_type):  # the settlement (or top-up) behind it committed
            balance_low.observe_safely(work.workspace_id)
        if work.event_type in CHARGING_EVENTS:
            _topup_due(work.workspace_id)
        push.on_event(work.workspace_id, work.event_id, work.event_type, work.data)  # mobile push, last
        return fanned
    if isinstance(work, BalanceCheck):
        return balance_low.observe_safely(work.workspace_id)
    logger.warning("webhooks message ignored", extra={"error_code": "bad_webhook_message"})
    return "ignored"


def handle_webhooks_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The webhooks queue's Lambda (partial batch failures: one bad record fails alone)."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    ready()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
