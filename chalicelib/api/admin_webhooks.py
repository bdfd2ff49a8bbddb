"""/admin/api/workspaces/{id}/webhook-*: the admin page's webhooks view (platform admins only;
403 for everyone else). A workspace's endpoints of every kind, its recent deliveries with the
failing ones first, replay a delivery, disable or enable an endpoint: each mutation audited by
`chalicelib.webhooks.operators`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api import params
from chalicelib.api.http import authenticate_admin, json_body, page_limit, query_params, validate
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.webhooks.operators as operators
else:
    operators = lazy_module("chalicelib.webhooks.operators")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")

admin_webhooks = Blueprint(__name__)
DELIVERY_QUERY = ("limit", "endpoint_id")  # openapi.QUERIES names the same
ENDPOINTS = "/admin/api/workspaces/{workspace_id}/webhook-endpoints"
DELIVERIES = "/admin/api/workspaces/{workspace_id}/webhook-deliveries"


def _reason(required: bool) -> str:
    """The operator's reason: required to disable or enable, optional for a replay."""
    raw = json_body(admin_webhooks.current_request)
    if required:
        return validate(schemas.AdminReason, raw).reason
    return (validate(schemas.OptionalReason, raw).reason if raw else "") or "replayed by an operator"


@route(admin_webhooks, ENDPOINTS, methods=["GET"])
def admin_webhook_endpoints(workspace_id: str) -> Response:
    """Every endpoint of the workspace (webhooks, Zapier subscriptions, IFTTT rows), newest first."""
    authenticate_admin(admin_webhooks.current_request)
    params.known(query_params(admin_webhooks.current_request), ())
    return render(responses.AdminWebhookEndpointList.of(operators.endpoints(workspace_id)))


@route(admin_webhooks, DELIVERIES, methods=["GET"])
def admin_webhook_deliveries(workspace_id: str) -> Response:
    """The newest deliveries (of one endpoint with `endpoint_id`), the failing ones first."""
    authenticate_admin(admin_webhooks.current_request)
    query = params.known(query_params(admin_webhooks.current_request), DELIVERY_QUERY)
    found = operators.deliveries(workspace_id, query.get("endpoint_id"), page_limit(query))
    return render(responses.AdminWebhookDeliveryList.of(found))


@route(admin_webhooks, DELIVERIES + "/{delivery_id}/replay", methods=["POST"])
def admin_replay_delivery(workspace_id: str, delivery_id: str) -> Response:
    """Send a delivery again now, with the same `webhook-id` (audited)."""
    caller = authenticate_admin(admin_webhooks.current_request)
    replayed = operators.replay(workspace_id, delivery_id, actor=caller.user_id, reason=_reason(False))
    return render(responses.WebhookDeliveryEnvelope.of(replayed), 202)


@route(admin_webhooks, ENDPOINTS + "/{endpoint_id}/disable", methods=["POST"])
def admin_disable_endpoint(workspace_id: str, endpoint_id: str) -> Response:
    """Stop deliveries to an endpoint (its pending ones end at their next attempt); audited."""
    caller = authenticate_admin(admin_webhooks.current_request)
    changed = operators.set_enabled(workspace_id, endpoint_id, False, actor=caller.user_id, reason=_reason(True))
    return render(responses.AdminWebhookEndpointEnvelope.of(changed))


@route(admin_webhooks, ENDPOINTS + "/{endpoint_id}/enable", methods=["POST"])
def admin_enable_endpoint(workspace_id: str, endpoint_id: str) -> Response:
    """Deliver to an endpoint again (its failure streak ends); audited."""
    caller = authenticate_admin(admin_webhooks.current_request)
    changed = operators.set_enabled(workspace_id, endpoint_id, True, actor=caller.user_id, reason=_reason(True))
    return render(responses.AdminWebhookEndpointEnvelope.of(changed))
