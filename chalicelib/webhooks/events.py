"""The events the platform announces (API.md "API platform and integrations") and their ids.

An event id is derived from the event's business key (a job and its final status, a payment
intent and its outcome), never drawn at random: a retried or duplicated trigger produces the same
id, the outbox keeps the first, and receivers see one `webhook-id` per event whatever happens.
The id is a ULID whose time part is the event's time, so ids sort newest first.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

EVENT_TYPES: Final = (
    "job.succeeded",
    "job.failed",
    "job.canceled",
    "balance.low",
    "topup.succeeded",
    "topup.failed",
    "export.ready",
    "training.succeeded",
    "training.failed",
)
JOB_EVENTS: Final = {"succeeded": "job.succeeded", "failed": "job.failed", "canceled": "job.canceled"}


def derived_id(prefix: str, key: str, at: datetime) -> str:
    """`<prefix>_<ULID>`: time part `at` (ms), random part from SHA-256 of `key` (stable)."""
    from ulid import ULID

    millis = int(at.timestamp() * 1000)
    raw = millis.to_bytes(6, "big") + hashlib.sha256(key.encode()).digest()[:10]
    return f"{prefix}_{ULID.from_bytes(raw)}"


def event_id(key: str, at: datetime) -> str:
    """The id of the event with business key `key` (e.g. "job:job_…:succeeded")."""
    return derived_id("evt", key, at)


def delivery_id(event_id: str, endpoint_id: str, at: datetime) -> str:
    """One delivery per (event, endpoint): a duplicate fan-out finds the row it wrote before."""
    return derived_id("whd", f"{event_id}:{endpoint_id}", at)
