"""/v1/webhook-endpoints and /v1/webhook-deliveries: outgoing webhooks of a workspace.

Every route needs `webhooks:write` (DESIGN.md: owners and admins manage webhook endpoints; a key
must carry the scope). The secret is in the answers to create and rotate-secret only; an
idempotent replay of those answers it as null (the idempotency table never holds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api import cursors
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.webhooks.endpoints as endpoints
    import chalicelib.webhooks.service as service
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    endpoints = lazy_module("chalicelib.webhooks.endpoints")
    service = lazy_module("chalicelib.webhooks.service")

webhooks = Blueprint(__name__)


@route(webhooks, "/v1/webhook-endpoints", methods=["POST"])
def create_endpoint() -> Response:
    request = webhooks.current_request
    caller = authenticate(request, permissions.WEBHOOKS_WRITE)
    body = validate(schemas.WebhookEndpointCreate, json_body(request))
    workspace_id = caller.workspace.workspace_id

    def create() -> Response:
        made = endpoints.create_endpoint(workspace_id, caller.user_id, body.url, list(body.events), body.description)
        return render(responses.WebhookEndpointCreated.of(made), 201)

    return idempotent(request, caller.replay_scope, create, webhooks.lambda_context, redact=_secret_redacted)


@route(webhooks, "/v1/webhook-endpoints", methods=["GET"])
def list_endpoints() -> Response:
    caller = authenticate(webhooks.current_request, permissions.WEBHOOKS_WRITE)
    return render(responses.WebhookEndpointList.of(endpoints.list_endpoints(caller.workspace.workspace_id)))


@route(webhooks, "/v1/webhook-endpoints/{endpoint_id}", methods=["GET"])
def get_endpoint(endpoint_id: str) -> Response:
    caller = authenticate(webhooks.current_request, permissions.WEBHOOKS_WRITE)
    return render(responses.WebhookEndpointEnvelope.of(endpoints.get_endpoint(caller.workspace.workspace_id, endpoint_id)))


@route(webhooks, "/v1/webhook-endpoints/{endpoint_id}", methods=["PATCH"])
def patch_endpoint(endpoint_id: str) -> Response:
    request = webhooks.current_request
    caller = authenticate(request, permissions.WEBHOOKS_WRITE)
    changes = validate(schemas.WebhookEndpointPatch, json_body(request)).changes()
    updated = endpoints.update_endpoint(caller.workspace.workspace_id, endpoint_id, caller.user_id, changes)
    return render(responses.WebhookEndpointEnvelope.of(updated))


@route(webhooks, "/v1/webhook-endpoints/{endpoint_id}", methods=["DELETE"])
def delete_endpoint(endpoint_id: str) -> Response:
    caller = authenticate(webhooks.current_request, permissions.WEBHOOKS_WRITE)
    endpoints.delete_endpoint(caller.workspace.workspace_id, endpoint_id, caller.user_id)
    return no_content()


@route(webhooks, "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", methods=["POST"])
def rotate_secret(endpoint_id: str) -> Response:
    request = webhooks.current_request
    caller = authenticate(request, permissions.WEBHOOKS_WRITE)
    json_body(request)  # no body is needed; one that is given must still be a JSON object
    workspace_id = caller.workspace.workspace_id
    return idempotent(
        request,
        caller.replay_scope,
        lambda: render(responses.WebhookEndpointCreated.of(endpoints.rotate_secret(workspace_id, endpoint_id, caller.user_id))),
        webhooks.lambda_context,
        redact=_secret_redacted,
    )


@route(webhooks, "/v1/webhook-endpoints/{endpoint_id}/deliveries", methods=["GET"])
def list_deliveries(endpoint_id: str) -> Response:
    request = webhooks.current_request
    workspace_id = authenticate(request, permissions.WEBHOOKS_WRITE).workspace.workspace_id
    params = query_params(request)
    scope = f"{workspace_id}:{endpoint_id}"
    limit, cursor = page_limit(params), cursors.decode(params, "webhook_deliveries", scope)
    records, last = service.list_deliveries(workspace_id, endpoint_id, limit, cursor)
    return render(responses.WebhookDeliveryPage.of(records, cursors.encode("webhook_deliveries", scope, last)))


@route(webhooks, "/v1/webhook-deliveries/{delivery_id}/replay", methods=["POST"])
def replay_delivery(delivery_id: str) -> Response:
    request = webhooks.current_request
    caller = authenticate(request, permissions.WEBHOOKS_WRITE)
    json_body(request)
    workspace_id = caller.workspace.workspace_id
    return idempotent(
        request,
        caller.replay_scope,
        lambda: render(responses.WebhookDeliveryEnvelope.of(service.replay_delivery(workspace_id, delivery_id)), 202),
        webhooks.lambda_context,
    )


def _secret_redacted(body: dict[str, Any]) -> dict[str, Any]:
    """What an idempotent replay of create/rotate answers: the secret is never stored."""
    note = "replayed: `secret` is shown only in the first response and is never stored; if it was lost, rotate the secret"
    return {**body, "secret": None, "message": note}
