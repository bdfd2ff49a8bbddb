"""Webhook endpoint use cases: create (secret shown once), list, get, change, delete, rotate.

Invariants: an endpoint belongs to one workspace and is only ever found through it (another
tenant's id is not found); its URL passed the SSRF guard when it was saved; its secret leaves
the service only in the answer to create or rotate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib import clock, ids
from chalicelib.observability import logger
from chalicelib.store import webhook_endpoints as store
from chalicelib.store.audit import audit
from chalicelib.store.models import WebhookEndpointModel
from chalicelib.webhooks import signing, ssrf
from chalicelib.webhooks.errors import EndpointNotFound, TooManyEndpoints

ROTATION_OVERLAP_S = 24 * 3600  # both secrets sign for a day after a rotation


@dataclass(frozen=True)
class EndpointRecord:
    """An endpoint as its owner sees it (never with its secret)."""

    id: str
    kind: str
    url: str
    events: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class EndpointWithSecret:
    """The answer to create and rotate: the endpoint and its new secret, shown this once."""

    endpoint: EndpointRecord
    secret: str


def describe(e: WebhookEndpointModel) -> EndpointRecord:
    expires = e.previous_expires if e.previous_secret else None
    return EndpointRecord(
        id=e.endpoint_id,
        kind=e.kind,
        url=e.url,
        events=[str(event) for event in e.events or []],
        description=e.description,
        status=e.status,
        disabled_reason=e.disabled_reason,
        previous_secret_expires_at=datetime.fromtimestamp(int(expires), UTC) if expires else None,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def create_endpoint(
    workspace_id: str, actor: str, url: str, events: list[str], description: str | None, kind: str = "webhook"
) -> EndpointWithSecret:
    """A new enabled endpoint with a new secret (the only time the secret is returned)."""
    ssrf.check_on_save(url)
    if len([e for e in store.of_workspace(workspace_id) if e.kind != "ifttt"]) >= store.MAX_PER_WORKSPACE:
        raise TooManyEndpoints(f"a workspace has at most {store.MAX_PER_WORKSPACE} webhook endpoints and subscriptions")
    now = clock.now()
    secret = signing.new_secret()
    row = WebhookEndpointModel(
        workspace_id,
        ids.new_id("whe", now),
        kind=kind,
        url=url,
        events=sorted(set(events)),
        description=description,
        status="enabled",
        secret=secret,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    store.insert(row)
    audit(workspace_id, actor, "webhooks.endpoint_created", after={"id": row.endpoint_id, "url": url, "events": row.events})
    return EndpointWithSecret(describe(row), secret)


def _load(workspace_id: str, endpoint_id: str, kind: str = "webhook") -> WebhookEndpointModel:
    found = store.get(workspace_id, endpoint_id) if ids.is_id(endpoint_id, "whe") else None
    if found is None or found.kind != kind:
        raise EndpointNotFound("no such webhook endpoint")
    return found


def list_endpoints(workspace_id: str) -> list[EndpointRecord]:
    """The workspace's webhook endpoints, newest first (at most MAX_PER_WORKSPACE)."""
    return [describe(e) for e in store.of_workspace(workspace_id) if e.kind == "webhook"]


def get_endpoint(workspace_id: str, endpoint_id: str) -> EndpointRecord:
    return describe(_load(workspace_id, endpoint_id))


def update_endpoint(workspace_id: str, endpoint_id: str, actor: str, changes: dict[str, Any]) -> EndpointRecord:
    """Change url, events, description or status; enabling again ends a failure streak."""
    endpoint = _load(workspace_id, endpoint_id)
    if "url" in changes:
        ssrf.check_on_save(changes["url"])
    now = clock.now()
    actions: list[Any] = [WebhookEndpointModel.updated_at.set(now)]
    for name in ("url", "description"):
        if name in changes:
            attribute = getattr(WebhookEndpointModel, name)
            actions.append(attribute.set(changes[name]) if changes[name] is not None else attribute.remove())
    if "events" in changes:
        actions.append(WebhookEndpointModel.events.set(sorted(set(changes["events"]))))
    if changes.get("status") == "enabled":
        actions += [
            WebhookEndpointModel.status.set("enabled"),
            WebhookEndpointModel.disabled_reason.remove(),
            WebhookEndpointModel.failing_since.remove(),
        ]
    elif changes.get("status") == "disabled":
        actions += [WebhookEndpointModel.status.set("disabled"), WebhookEndpointModel.disabled_reason.set("disabled by a user")]
    before = describe(endpoint)
    if not store.update(endpoint, actions):
        raise EndpointNotFound("no such webhook endpoint")
    audit(workspace_id, actor, "webhooks.endpoint_updated", before={"url": before.url, "events": before.events}, after=changes)
    return describe(endpoint)


def delete_endpoint(workspace_id: str, endpoint_id: str, actor: str, kind: str = "webhook") -> None:
    """Delete it; its pending deliveries end at their next attempt."""
    endpoint = _load(workspace_id, endpoint_id, kind)
    if not store.delete(workspace_id, endpoint.endpoint_id):
        raise EndpointNotFound("no such webhook endpoint")
    audit(workspace_id, actor, "webhooks.endpoint_deleted", before={"id": endpoint_id, "url": endpoint.url})


def rotate_secret(workspace_id: str, endpoint_id: str, actor: str) -> EndpointWithSecret:
    """A new secret now; the previous one keeps signing (beside it) for ROTATION_OVERLAP_S."""
    endpoint = _load(workspace_id, endpoint_id)
    now = clock.now()
    secret = signing.new_secret()
    actions = [
        WebhookEndpointModel.secret.set(secret),
        WebhookEndpointModel.previous_secret.set(endpoint.secret),
        WebhookEndpointModel.previous_expires.set(int(now.timestamp()) + ROTATION_OVERLAP_S),
        WebhookEndpointModel.updated_at.set(now),
    ]
    if not store.update(endpoint, actions, WebhookEndpointModel.secret == endpoint.secret):
        raise EndpointNotFound("the endpoint changed or is gone; rotate again")
    audit(workspace_id, actor, "webhooks.secret_rotated", after={"id": endpoint_id, "overlap_s": ROTATION_OVERLAP_S})
    logger.info("webhook secret rotated", extra={"workspace_id": workspace_id, "endpoint_id": endpoint_id})
    return EndpointWithSecret(describe(endpoint), secret)


def signing_secrets(endpoint: WebhookEndpointModel, now_epoch: int) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous during its overlap."""
    current = [endpoint.secret]
    if endpoint.previous_secret and int(endpoint.previous_expires or 0) > now_epoch:
        current.append(endpoint.previous_secret)
    return current
