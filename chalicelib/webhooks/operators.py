"""What platform operators see and do about a workspace's outgoing events (the admin page's
webhooks view): every endpoint of the workspace (webhooks, Zapier subscriptions, IFTTT rows),
its recent deliveries with the failing ones first, replay a delivery, disable or enable an
endpoint. Every mutation is audited (who, what, before, after, why) on the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from chalicelib import clock, ids
from chalicelib.store import webhook_deliveries, webhook_endpoints
from chalicelib.store.audit import audit, audit_in
from chalicelib.store.models import WebhookDeliveryModel, WebhookEndpointModel
from chalicelib.store.transaction import Transaction, TransactionCancelled
from chalicelib.tenancy.service import get_workspace
from chalicelib.webhooks import service
from chalicelib.webhooks.endpoints import EndpointRecord, describe
from chalicelib.webhooks.errors import EndpointNotFound, EndpointStatusUnchanged
from chalicelib.webhooks.service import DeliveryRecord

# Failures first: ended failed, then failing and retrying, then not yet tried, then delivered.
ORDER: Final = {"failed": 0, "retrying": 1, "pending": 2, "succeeded": 3}


@dataclass(frozen=True)
class OperatorEndpoint:
    """An endpoint as an operator sees it: the owner's view plus its failure streak."""

    endpoint: EndpointRecord
    failing_since: datetime | None
    trigger_identities: int  # IFTTT rows: applets that poll the trigger


def _operator_view(e: WebhookEndpointModel) -> OperatorEndpoint:
    since = datetime.fromtimestamp(int(e.failing_since), UTC) if e.failing_since is not None else None
    identities = len(e.trigger_identities.as_dict()) if e.trigger_identities is not None else 0
    return OperatorEndpoint(describe(e), since, identities)


def endpoints(workspace_id: str) -> list[OperatorEndpoint]:
    """Every endpoint of the workspace, newest first (one query; 404 for an unknown workspace)."""
    get_workspace(workspace_id)
    return [_operator_view(e) for e in webhook_endpoints.of_workspace(workspace_id)]


def standing(d: WebhookDeliveryModel) -> str:
    """Where a delivery stands, for the failures-first order."""
    if d.status == "pending":
        return "retrying" if int(d.attempts_made or 0) > 0 else "pending"
    return str(d.status)


def deliveries(workspace_id: str, endpoint_id: str | None, limit: int) -> list[DeliveryRecord]:
    """The newest `limit` deliveries of the workspace (or of one of its endpoints), the failing
    ones first, each group newest first: one query, whatever the number of deliveries."""
    get_workspace(workspace_id)
    if endpoint_id is None:
        rows = webhook_deliveries.of_workspace(workspace_id, limit)
    else:
        _endpoint(workspace_id, endpoint_id)
        rows = [d for d in webhook_deliveries.of_endpoint(endpoint_id, limit, None)[0] if d.workspace_id == workspace_id]
    ranked = sorted(rows, key=lambda d: (ORDER.get(standing(d), 9), _newest_first(d.delivery_id)))
    return [service.describe(d) for d in ranked]


def _newest_first(delivery_id: str) -> float:
    return -ids.id_time(delivery_id).timestamp()


def _endpoint(workspace_id: str, endpoint_id: str) -> WebhookEndpointModel:
    found = webhook_endpoints.get(workspace_id, endpoint_id) if ids.is_id(endpoint_id, "whe") else None
    if found is None:
        raise EndpointNotFound("no such webhook endpoint in this workspace")
    return found


def replay(workspace_id: str, delivery_id: str, *, actor: str, reason: str) -> DeliveryRecord:
    """Send a delivery again now (same `webhook-id`), audited; refused for a disabled endpoint."""
    get_workspace(workspace_id)
    record = service.replay_delivery(workspace_id, delivery_id)
    audit(
        workspace_id,
        actor,
        "webhooks.delivery_replayed",
        after={"id": delivery_id, "endpoint_id": record.endpoint_id},
        reason=reason,
    )
    return record


def set_enabled(workspace_id: str, endpoint_id: str, enabled: bool, *, actor: str, reason: str) -> OperatorEndpoint:
    """Disable (its pending deliveries end at their next attempt) or enable an endpoint of any
    kind, with its audit row in the same transaction; 409 when it already is."""
    get_workspace(workspace_id)
    endpoint = _endpoint(workspace_id, endpoint_id)
    now = clock.now()
    txn = Transaction()
    webhook_endpoints.set_status_in(txn, endpoint, enabled, f"disabled by an operator: {reason}", now)
    action = "webhooks.endpoint_enabled" if enabled else "webhooks.endpoint_disabled"
    after = {"id": endpoint_id, "status": "enabled" if enabled else "disabled"}
    audit_in(txn, workspace_id, actor, action, before={"status": endpoint.status}, after=after, reason=reason)
    try:
        txn.commit()
    except TransactionCancelled:
        raise EndpointStatusUnchanged(f"the endpoint is already {after['status']} (or is gone)") from None
    return _operator_view(_endpoint(workspace_id, endpoint_id))
