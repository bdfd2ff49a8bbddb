"""Push notifications when a job ends, sent by the webhooks queue's consumer (never in a request
or in the generation worker; settlement only emitted the event, chalicelib/webhooks/outbox.py).

For `job.succeeded` / `job.failed`, the job's user's settings (mobile/notifications.py) decide;
then every device of that person in the job's workspace gets one notification:
- expo tokens through Expo's push API (mobile/expo.py), one batch; a ticket that is already
  `DeviceNotRegistered` prunes its device at once, and the other tickets' receipts are read
  PUSH_RECEIPT_DELAY_S later (Expo asks for about 15 minutes) by a `push_receipts` message on
  the same queue: a `DeviceNotRegistered` receipt prunes the device; tickets without a receipt
  yet are asked again, at most RECEIPT_ROUNDS times;
- ios/android through their SNS platform endpoints (mobile/sns.py); `EndpointDisabled` prunes.

At most once per (event, device): a marker row per event id is claimed before sending (a
duplicate event message finds it and sends nothing). A send that fails as a whole (Expo or SNS
unreachable) releases the marker and raises, so the message comes back and the push is retried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.mobile import devices, expo, notifications, sns
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings
from chalicelib.store import devices as device_store
from chalicelib.store.models import DeviceModel
from chalicelib.webhooks import queue

MARKER_TTL_S = 7 * 24 * 3600
RECEIPT_ROUNDS = 3


@dataclass(frozen=True)
class ReceiptCheck:
    """A `push_receipts` message: Expo tickets to read the receipts of, with their devices."""

    tickets: list[tuple[str, str, str]]  # (ticket id, device owner, device id)
    round: int = 0

    @classmethod
    def of(cls, body: dict[str, Any]) -> ReceiptCheck:
        tickets = [(str(t), str(o), str(d)) for t, o, d in body["tickets"]]
        return cls(tickets, int(body.get("round", 0)))

    def message(self) -> dict[str, Any]:
        return {"type": "push_receipts", "tickets": [list(t) for t in self.tickets], "round": self.round}


def notification(event_type: str, job: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(title, body, data) of a job's push: the app opens the job from `data`."""
    data = {"type": event_type, "job_id": str(job.get("id") or "")}
    if event_type == "job.succeeded":
        n = len(job.get("image_ids") or [])
        return "Your images are ready", f"{n} image{'s' if n != 1 else ''} ready to view", data
    error = job.get("error") or {}
    return "A job failed", str(error.get("message") or "The job could not be completed"), data


def on_event(workspace_id: str, event_id: str, event_type: str, data: dict[str, Any]) -> str:
    """Push a job's end to its user's devices, as their settings ask; returns what happened."""
    if event_type not in notifications.EVENTS:
        return "not_pushed"
    job = dict(data.get("job") or {})
    user_id = str(job.get("user_id") or "")
    if not user_id or not notifications.wants(user_id, event_type):
        return "muted"
    targets = device_store.of_owner(workspace_id, user_id)
    if not targets:
        return "no_devices"
    if not device_store.claim_push(event_id, int(clock.now().timestamp()) + MARKER_TTL_S):
        return "duplicate"
    try:
        sent = _send(targets, *notification(event_type, job))
    except Exception:
        device_store.release_push(event_id)  # the message comes back: the push is tried again
        raise
    count("PushNotifications", sent)
    return f"pushed:{sent}"


def _send(targets: list[DeviceModel], title: str, body: str, data: dict[str, Any]) -> int:
    via_expo = [d for d in targets if d.platform == "expo"]
    sent = 0
    if via_expo:
        tickets = expo.send([(str(d.token), title, body, data) for d in via_expo])
        pending: list[tuple[str, str, str]] = []
        for device, ticket in zip(via_expo, tickets, strict=True):
            if ticket.error == expo.DEVICE_NOT_REGISTERED:
                _prune(device, "expo_ticket")
            elif ticket.ticket_id:
                pending.append((ticket.ticket_id, str(device.owner), str(device.device_id)))
        sent += len(pending)
        if pending:
            queue.send(ReceiptCheck(pending).message(), get_settings().push_receipt_delay_s)
    for device in (d for d in targets if d.platform in ("ios", "android") and d.endpoint_arn):
        if sns.publish(str(device.endpoint_arn), title, body, data):
            sent += 1
        else:
            _prune(device, "sns_endpoint_disabled")
    return sent


def _prune(device: DeviceModel, reason: str) -> None:
    if devices.prune(str(device.owner), str(device.device_id)):
        count("PushDevicesPruned", reason=reason)
        logger.info("push device pruned", extra={"device_id": device.device_id, "reason": reason})


def check_receipts(check: ReceiptCheck) -> str:
    """Read the receipts; prune dead tokens; ask again later for those not ready yet."""
    found = expo.receipts([ticket for ticket, _, _ in check.tickets])
    pruned = 0
    for ticket, owner, device_id in check.tickets:
        if found.get(ticket, "") == expo.DEVICE_NOT_REGISTERED and devices.prune(owner, device_id):
            pruned += 1
    waiting = [t for t in check.tickets if t[0] not in found]
    if waiting and check.round + 1 < RECEIPT_ROUNDS:
        queue.send(ReceiptCheck(waiting, check.round + 1).message(), get_settings().push_receipt_delay_s)
    if pruned:
        count("PushDevicesPruned", pruned, reason="expo_receipt")
    return f"receipts:{len(found)} pruned:{pruned} waiting:{len(waiting)}"


def parse_receipts(raw: str) -> ReceiptCheck | None:
    """A `push_receipts` message of the webhooks queue, or None when the body is another kind."""
    try:
        body = json.loads(raw)
        return ReceiptCheck.of(body) if body.get("type") == "push_receipts" else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
