"""/v1/integrations/zapier (REST hook subscribe, unsubscribe, samples) and /ifttt/v1/ (status,
test setup, polling triggers, actions): API.md "API platform and integrations".

Zapier calls with the user's API key (`Authorization: Bearer sk_…`), which needs
`webhooks:write`: a subscription is a webhook endpoint of the workspace. IFTTT calls with its
service key (`IFTTT-Service-Key`) and, for triggers and actions, the user's API key as bearer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api.errors import ApiError, InvalidRequest, to_api_error
from chalicelib.api.http import authenticate, json_body, json_response, query_params, request_id_of, trace_id, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.routing import no_content, render, route
from chalicelib.domain import DomainError
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.generation.service as job_service
    import chalicelib.integrations.ifttt as ifttt
    import chalicelib.integrations.zapier as zapier
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    job_service = lazy_module("chalicelib.generation.service")
    ifttt = lazy_module("chalicelib.integrations.ifttt")
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
        caller.replay_scope,
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
    if event not in get_args(schemas.EventType):
        raise InvalidRequest("event must be one of the event types (e.g. job.succeeded)", field="event")
    return render(responses.ZapierSamples.of(zapier.samples(caller.workspace.workspace_id, event)))


# --- IFTTT (/ifttt/v1/) ----------------------------------------------------------------------------
# IFTTT reads errors as {"errors": [{"message"}]}: its answers carry that beside our envelope.


def _ifttt_answer(answer: Callable[[], Response]) -> Response:
    """Run `answer`; an error becomes our envelope plus IFTTT's `errors` list, same status."""
    request = integrations.current_request
    try:
        return answer()
    except (ApiError, DomainError) as raised:
        error = raised if isinstance(raised, ApiError) else to_api_error(raised)
        body = error.body(request_id_of(request))
        body["errors"] = [{"message": error.message}]
        return json_response(body, error.status, error.headers)


def _service_key() -> None:
    ifttt.check_service_key(integrations.current_request.headers.get("ifttt-service-key"))


@route(integrations, "/ifttt/v1/status", methods=["GET"])
def ifttt_status() -> Response:
    """IFTTT's health check (service key only)."""

    def answer() -> Response:
        _service_key()
        return render(responses.IftttStatus())

    return _ifttt_answer(answer)


@route(integrations, "/ifttt/v1/test/setup", methods=["POST"])
def ifttt_test_setup() -> Response:
    """IFTTT's endpoint tests: a test user's token and samples (service key only)."""

    def answer() -> Response:
        _service_key()
        return render(responses.IftttSetup.of(ifttt.test_setup()))

    return _ifttt_answer(answer)


@route(integrations, "/ifttt/v1/triggers/{slug}", methods=["POST"])
def ifttt_trigger(slug: str) -> Response:
    """A polling trigger (job_succeeded, job_failed): newest first, at most `limit`."""

    def answer() -> Response:
        _service_key()
        request = integrations.current_request
        principal = authenticate(request, permissions.JOBS_READ)
        body = validate(schemas.IftttTrigger, json_body(request))
        items = ifttt.poll(principal.workspace.workspace_id, slug, body.limit, body.trigger_identity)
        return render(responses.IftttTriggerPage.of(items))

    return _ifttt_answer(answer)


@route(integrations, "/ifttt/v1/actions/{slug}", methods=["POST"])
def ifttt_action(slug: str) -> Response:
    """An action (generate_image): starts a job for the user; IFTTT's X-Request-ID makes a retry start none."""

    def answer() -> Response:
        _service_key()
        request = integrations.current_request
        principal = authenticate(request, permissions.JOBS_WRITE)
        fields = validate(schemas.IftttAction, json_body(request)).actionFields.model_dump()
        retry_key = trace_id(request.headers.get("x-request-id"))

        def order(given: dict[str, Any]) -> Any:
            return job_service.JobOrder(
                spec=job_service.JobSpec(prompt=str(given["prompt"])),
                workspace=principal.workspace,
                user_id=principal.user.user_id,
                user_settings=dict(principal.user.settings or {}),
                key_id=principal.key.key_id if principal.key else None,
                request_hash=ifttt.request_hash(given),
                idempotency_key=f"ifttt:{retry_key}" if retry_key else None,
                correlation_id=(request.context or {}).get("correlation_id"),
            )

        return render(responses.IftttActionResult.of(ifttt.start_job(order, slug, fields)))

    return _ifttt_answer(answer)
