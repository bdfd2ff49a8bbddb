"""/v1/integrations/zapier: REST hook subscribe, unsubscribe and samples (API.md).

Zapier calls these with the user's API key (`Authorization: Bearer sk_…`), which needs
`webhooks:write`: a subscription is a webhook endpoint of the workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate, json_body, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.integrations.zapier as zapier
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    zapier = lazy_module("chalicelib.integrations.zapier")

integrations = Blueprint(__name__)


@route(integrations, "/v1/integrations/zapier/subscriptions", methods=["POST"])
def zapier_subscribe() -> Response:
    request = integrations.current_request
    caller = authenticate(request, permissions.WEBHOOKS_WRITE)
    body = validate(schemas.ZapierSubscribe, json_body(request))
    workspace_id = caller.workspace.workspace_id
    return idempotent(
        request,
        caller.user_id,
        lambda: render(
            responses.ZapierSubscription.of(zapier.subscribe(workspace_id, caller.user_id, body.target_url, body.event)), 201
        ),
        integrations.lambda_context,
    )


@route(integrations, "/v1/integrations/zapier/subscriptions/{subscription_id}", methods=["DELETE"])
def zapier_unsubscribe(subscription_id: str) -> Response:
    caller = authenticate(integrations.current_request, permissions.WEBHOOKS_WRITE)
    zapier.unsubscribe(caller.workspace.workspace_id, subscription_id, caller.user_id)
    return no_content()


@route(integrations, "/v1/integrations/zapier/samples", methods=["GET"])
def zapier_samples() -> Response:
    request = integrations.current_request
    caller = authenticate(request, permissions.WEBHOOKS_WRITE)
    event = query_params(request).get("event", "")
    if event not in schemas.EventType.__args__:  # type: ignore[attr-defined]
        raise InvalidRequest("event must be one of the event types (e.g. job.succeeded)", field="event")
    return render(responses.ZapierSamples.of(zapier.samples(caller.workspace.workspace_id, event)))
