"""Webhook endpoint persistence: a workspace's endpoints, read and written by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.store.models import WebhookEndpointModel

MAX_PER_WORKSPACE = 50  # a workspace's endpoints are read whole on every event it emits


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
            workspace_id, scan_index_forward=False, consistent_read=consistent, limit=MAX_PER_WORKSPACE + 1
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


def _conditional(error: PutError | UpdateError | DeleteError) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
