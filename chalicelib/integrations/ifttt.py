"""The IFTTT service API: polling triggers over the workspace's finished jobs, and an action
that starts a job. IFTTT authenticates itself with the `IFTTT-Service-Key` header (the secret
IFTTT_SERVICE_KEY) and acts for a user with `Authorization: Bearer <the user's API key>`.

A poll that names its `trigger_identity` is remembered, so that IFTTT's Realtime API can be
told to poll that trigger as soon as a matching event happens (integrations/ifttt_realtime.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from chalicelib import clock
from chalicelib.domain import NotAuthenticated, NotFound
from chalicelib.generation import service as jobs
from chalicelib.observability import logger
from chalicelib.secrets import secret

TRIGGERS: Final = {"job_succeeded": "succeeded", "job_failed": "failed"}
TRIGGER_EVENTS: Final = {"job_succeeded": "job.succeeded", "job_failed": "job.failed"}  # what makes each fire
ACTIONS: Final = ("generate_image",)
SCAN_LIMIT = 100  # a poll reads at most this many of the newest jobs


@dataclass(frozen=True)
class TriggerItem:
    """One trigger event as IFTTT reads it: the ingredients and `meta` (id, unix timestamp)."""

    job_id: str
    prompt: str
    status: str
    image_ids: list[str]
    finished_at: str
    meta_id: str
    meta_timestamp: int


def check_service_key(given: str | None) -> None:
    """IFTTT's own credential; unset means the integration is off (refused, never a 5xx)."""
    expected = secret("IFTTT_SERVICE_KEY", required=False)
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise NotAuthenticated("invalid IFTTT-Service-Key")


def test_setup() -> dict[str, Any]:
    """What IFTTT's endpoint tests use: a test user's token and sample fields."""
    token = secret("IFTTT_TEST_ACCESS_TOKEN", required=False)
    if not token:
        raise NotFound("IFTTT endpoint tests are not set up here (IFTTT_TEST_ACCESS_TOKEN is not set)")
    return {
        "accessToken": token,
        "samples": {"triggers": {slug: {} for slug in TRIGGERS}, "actions": {"generate_image": {"prompt": "a red fox in snow"}}},
    }


def poll(workspace_id: str, slug: str, limit: int, trigger_identity: str | None) -> list[TriggerItem]:
    """IFTTT's poll of a trigger: remember the applet's identity (for realtime), answer the items."""
    items = trigger_items(workspace_id, slug, limit)
    if trigger_identity:
        remember(workspace_id, slug, trigger_identity)
    return items


def remember(workspace_id: str, slug: str, trigger_identity: str) -> None:
    """The workspace's IFTTT row for the trigger now lists this identity (made on first use)."""
    from chalicelib.store import webhook_endpoints
    from chalicelib.webhooks.events import derived_id

    row_id = derived_id("whe", f"ifttt:{workspace_id}:{slug}", datetime(2020, 1, 1, tzinfo=UTC))  # one per trigger
    if not webhook_endpoints.remember_identity(workspace_id, row_id, trigger_identity, TRIGGER_EVENTS[slug], clock.now()):
        logger.warning("IFTTT trigger identity not kept: too many", extra={"workspace_id": workspace_id, "slug": slug})


def trigger_items(workspace_id: str, slug: str, limit: int) -> list[TriggerItem]:
    """The workspace's newest jobs that ended with the trigger's status, newest first."""
    status = TRIGGERS.get(slug)
    if status is None:
        raise NotFound(f"no such trigger: {slug}")
    if limit <= 0:
        return []
    records, _ = jobs.list_jobs(workspace_id, SCAN_LIMIT, None)
    items = []
    for record in records:
        job = record.job
        if job.status != status:
            continue
        finished = job.finished_at or job.created_at
        images = [str(image.get("id")) for image in (job.images or [])]
        items.append(
            TriggerItem(
                job.job_id, job.prompt, job.status, images, str(clock.iso(finished)), job.job_id, int(finished.timestamp())
            )
        )
    return items[:limit]


def start_job(order_for: Any, slug: str, fields: dict[str, Any]) -> str:
    """The action: start a job with the given prompt; returns its id (IFTTT's `data[0].id`)."""
    if slug not in ACTIONS:
        raise NotFound(f"no such action: {slug}")
    return jobs.create_job(order_for(fields)).record.job.job_id


def request_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
