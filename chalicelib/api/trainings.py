"""/v1/trainings: custom model training (API.md "Platform"; the rules in `chalicelib.training`).

Creating one is admitted like a job (credits held, 402/429 before the 202) and honours
Idempotency-Key like POST /v1/jobs; DESIGN.md's matrix: every role reads, members and up create.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from chalice import Blueprint
from chalice.app import Request, Response

from chalicelib.api import cursors
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.generation.errors as job_errors
    import chalicelib.tenancy.members as members
    import chalicelib.training.service as service
    from chalicelib.tenancy.auth import Principal
else:
    members = lazy_module("chalicelib.tenancy.members")
    job_errors = lazy_module("chalicelib.generation.errors")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    service = lazy_module("chalicelib.training.service")

trainings = Blueprint(__name__)


@route(trainings, "/v1/trainings", methods=["POST"])
def create_training() -> Response:
    request = trainings.current_request
    principal = authenticate(request, permissions.TRAININGS_WRITE)
    order = _order(request, principal, validate(schemas.TrainingCreate, json_body(request)))

    def create() -> Response:
        created = service.create_training(order)
        headers = job_errors.rate_limit_headers(created.rate)
        if created.replayed:
            headers["Idempotent-Replayed"] = "true"
        return render(responses.TrainingEnvelope.created(created), 202, headers)

    return idempotent(request, principal.replay_scope, create, trainings.lambda_context)


@route(trainings, "/v1/trainings", methods=["GET"])
def list_trainings() -> Response:
    request = trainings.current_request
    workspace_id = authenticate(request, permissions.TRAININGS_READ).workspace.workspace_id
    params = query_params(request)
    limit, cursor = page_limit(params), cursors.decode(params, "trainings", workspace_id)
    records, last = service.list_trainings(workspace_id, limit, cursor)
    return render(responses.TrainingPage.of(records, cursors.encode("trainings", workspace_id, last)))


@route(trainings, "/v1/trainings/{training_id}", methods=["GET"])
def get_training(training_id: str) -> Response:
    principal = authenticate(trainings.current_request, permissions.TRAININGS_READ)
    return render(responses.TrainingEnvelope.of(service.get_training(principal.workspace.workspace_id, training_id)))


@route(trainings, "/v1/trainings/{training_id}/cancel", methods=["POST"])
def cancel_training(training_id: str) -> Response:
    request = trainings.current_request
    principal = authenticate(request, permissions.TRAININGS_WRITE)
    json_body(request)  # no body is needed; one that is given must still be a JSON object
    return idempotent(
        request,
        principal.replay_scope,
        lambda: render(responses.TrainingEnvelope.of(service.cancel_training(principal.workspace.workspace_id, training_id))),
        trainings.lambda_context,
    )


def _order(request: Request, principal: Principal, body: schemas.TrainingCreate) -> service.TrainingOrder:
    """The service's input: the validated body, the caller, and how to recognise a retry (the
    canonical dump of the fields given: key order and spacing do not matter)."""
    given = body.model_dump(mode="json", exclude_unset=True)
    canonical = json.dumps(given, sort_keys=True, separators=(",", ":"))
    return service.TrainingOrder(
        spec=service.TrainingSpec(**body.model_dump(mode="json")),
        workspace=principal.workspace,
        user_id=principal.user.user_id,
        key_id=principal.key.key_id if principal.key else None,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        idempotency_key=request.headers.get("idempotency-key"),
        correlation_id=(request.context or {}).get("correlation_id"),
        caps=members.spend_caps(principal),
    )
