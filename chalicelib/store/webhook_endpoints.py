"""Webhook endpoint persistence: a workspace's endpoints, read and written by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.store.models import WebhookEndpointModel

MAX_PER_WORKSPACE = 50  # a workspace's endpoints are read whole on every event it emits
# Beside them, one row per IFTTT trigger (kind "ifttt", not counted in the limit above).
IFTTT_ROWS = 2
MAX_IDENTITIES = 500  # IFTTT trigger identities kept per (workspace, trigger)


def get(workspace_id: str, endpoint_id: str) -> WebhookEndpointModel | None:
    """The endpoint, read consistently, or None."""
    try:
        return WebhookEndpointModel.get(workspace_id, endpoint_id, consistent_read=True)
    except WebhookEndpointModel.DoesNotExist:
        return None


def of_workspace(workspace_id: str, *, consistent: bool = True) -> list[WebhookEndpointModel]:
    """Every endpoint of the workspace, newest first (bounded by MAX_PER_WORKSPACE)."""
    return list(
        WebhookEndpointModel.query(
            workspace_id, scan_index_forward=False, consistent_read=consistent, limit=MAX_PER_WORKSPACE + IFTTT_ROWS + 1
        )
    )


def subscribed(workspace_id: str, event_type: str) -> list[WebhookEndpointModel]:
    """The enabled endpoints that listen to `event_type` (one query on the workspace's key)."""
    return [e for e in of_workspace(workspace_id) if e.status == "enabled" and event_type in (e.events or [])]


def insert(endpoint: WebhookEndpointModel) -> None:
    """Write a new endpoint (its id is new: a collision is a bug, not a retry)."""
    endpoint.save(condition=WebhookEndpointModel.endpoint_id.does_not_exist())


def update(endpoint: WebhookEndpointModel, actions: list[Any], condition: Any = None) -> bool:
    """Apply `actions` to an existing endpoint; False when it is gone or `condition` fails."""
    exists = WebhookEndpointModel.endpoint_id.exists()
    try:
        endpoint.update(actions=actions, condition=exists if condition is None else exists & condition)
    except UpdateError as error:
        if _conditional(error):
            return False
        raise
    return True


def delete(workspace_id: str, endpoint_id: str) -> bool:
    """Delete the endpoint; False when there was none."""
    try:
        WebhookEndpointModel(workspace_id, endpoint_id).delete(condition=WebhookEndpointModel.endpoint_id.exists())
    except DeleteError as error:
        if _conditional(error):
            return False
        raise
    return True


def record_success(endpoint: WebhookEndpointModel) -> None:
    """A delivery got through: the failure streak ends (one write, only when there was one)."""
    if endpoint.failing_since is not None:
        update(endpoint, [WebhookEndpointModel.failing_since.remove()])


def record_failure(endpoint: WebhookEndpointModel, now_epoch: int) -> int:
    """A delivery failed: start the streak if none is running; returns when the streak began."""
    if endpoint.failing_since is not None:
        return int(endpoint.failing_since)
    update(endpoint, [WebhookEndpointModel.failing_since.set(now_epoch)], WebhookEndpointModel.failing_since.does_not_exist())
    return now_epoch


def disable(endpoint: WebhookEndpointModel, reason: str, now: datetime) -> bool:
    """Disable an enabled endpoint; False when it was not enabled (someone else did it first)."""
    return update(
        endpoint,
        [
            WebhookEndpointModel.status.set("disabled"),
            WebhookEndpointModel.disabled_reason.set(reason),
            WebhookEndpointModel.updated_at.set(now),
        ],
        WebhookEndpointModel.status == "enabled",
    )


def set_status_in(txn: Any, endpoint: WebhookEndpointModel, enabled: bool, reason: str, now: datetime) -> None:
    """Add to `txn`: enable (ending a failure streak) or disable the endpoint, only if it is not
    so already (the transaction is cancelled otherwise)."""
    if enabled:
        actions = [
            WebhookEndpointModel.status.set("enabled"),
            WebhookEndpointModel.disabled_reason.remove(),
            WebhookEndpointModel.failing_since.remove(),
        ]
    else:
        actions = [WebhookEndpointModel.status.set("disabled"), WebhookEndpointModel.disabled_reason.set(reason)]
    condition = WebhookEndpointModel.endpoint_id.exists() & (
        WebhookEndpointModel.status == ("disabled" if enabled else "enabled")
    )
    txn.update("endpoint", endpoint, [*actions, WebhookEndpointModel.updated_at.set(now)], condition)


def remember_identity(workspace_id: str, endpoint_id: str, identity: str, event_type: str, now: datetime) -> bool:
    """Record that IFTTT polls trigger identity `identity` now (the row of kind "ifttt" is made on
    the first poll); False when the row already keeps MAX_IDENTITIES others."""
    for _ in range(2):  # a racing first poll may create the row between our update and our put
        if _touch_identity(workspace_id, endpoint_id, identity, int(now.timestamp())):
            return True
        row = WebhookEndpointModel(
            workspace_id,
            endpoint_id,
            kind="ifttt",
            url=f"ifttt:{event_type}",
            events=[event_type],
            status="enabled",
            secret="-",  # IFTTT's service key authenticates these calls; nothing is signed
            trigger_identities={identity: int(now.timestamp())},
            created_by="ifttt",
            created_at=now,
        )
        try:
            row.save(condition=WebhookEndpointModel.endpoint_id.does_not_exist())
            return True
        except PutError as error:
            if not _conditional(error):
                raise
    return False


def _touch_identity(workspace_id: str, endpoint_id: str, identity: str, at: int) -> bool:
    identities: Any = WebhookEndpointModel.trigger_identities  # a map keyed by identity: its paths are built per key
    room = (size(identities) < MAX_IDENTITIES) | identities[identity].exists()
    try:
        WebhookEndpointModel(workspace_id, endpoint_id).update(
            actions=[identities[identity].set(at)], condition=identities.exists() & room
        )
    except UpdateError as error:
        if _conditional(error):
            return False
        raise
    return True


def _conditional(error: PutError | UpdateError | DeleteError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
