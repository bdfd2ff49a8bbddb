"""/v1/jobs: create (admission before the 202), list newest first, get, cancel.

Each route parses (auth, body, params), makes one call to `generation.service` and renders a
response model; the service's domain errors become envelopes in `api.routing.route`.
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
    import chalicelib.generation.service as service
    import chalicelib.tenancy.members as members
    from chalicelib.tenancy.auth import Principal
else:
    members = lazy_module("chalicelib.tenancy.members")
    job_errors = lazy_module("chalicelib.generation.errors")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    service = lazy_module("chalicelib.generation.service")

jobs = Blueprint(__name__)


@route(jobs, "/v1/jobs", methods=["POST"])
def create_job() -> Response:
    request = jobs.current_request
    principal = authenticate(request, permissions.JOBS_WRITE)
    order = _order(request, principal, validate(schemas.JobCreate, json_body(request)))

    def create() -> Response:
        created = service.create_job(order)
        headers = job_errors.rate_limit_headers(created.rate)
        if created.replayed:
            headers["Idempotent-Replayed"] = "true"
        return render(responses.JobEnvelope.of(created.record), 202, headers)

    return idempotent(request, principal.replay_scope, create, jobs.lambda_context)


@route(jobs, "/v1/jobs", methods=["GET"])
def list_jobs() -> Response:
    request = jobs.current_request
    workspace_id = authenticate(request, permissions.JOBS_READ).workspace.workspace_id
    params = query_params(request)
    limit, cursor = page_limit(params), cursors.decode(params, "jobs", workspace_id)
    records, last = service.list_jobs(workspace_id, limit, cursor)
    return render(responses.JobPage.of(records, cursors.encode("jobs", workspace_id, last)))


@route(jobs, "/v1/jobs/{job_id}", methods=["GET"])
def get_job(job_id: str) -> Response:
    principal = authenticate(jobs.current_request, permissions.JOBS_READ)
    return render(responses.JobEnvelope.of(service.get_job(principal.workspace.workspace_id, job_id)))


@route(jobs, "/v1/jobs/{job_id}/cancel", methods=["POST"])
def cancel_job(job_id: str) -> Response:
    request = jobs.current_request
    principal = authenticate(request, permissions.JOBS_WRITE)
    json_body(request)  # no body is needed; one that is given must still be a JSON object
    return idempotent(
        request,
        principal.replay_scope,
        lambda: render(responses.JobEnvelope.of(service.cancel_job(principal.workspace.workspace_id, job_id))),
        jobs.lambda_context,
    )


def _order(request: Request, principal: Principal, body: schemas.JobCreate) -> service.JobOrder:
    """The service's input: the validated body, the caller, and how to recognise a retry.

    The request hash is the canonical dump of the fields the client gave (sorted keys, compact):
    key order and spacing do not matter, and an explicit null still differs from an absent
    field, as when the raw body was hashed."""
    given = body.model_dump(mode="json", exclude_unset=True)
    canonical = json.dumps(given, sort_keys=True, separators=(",", ":"))
    return service.JobOrder(
        spec=service.JobSpec(**body.model_dump(mode="json")),
        workspace=principal.workspace,
        user_id=principal.user.user_id,
        user_settings=dict(principal.user.settings or {}),
        key_id=principal.key.key_id if principal.key else None,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        idempotency_key=request.headers.get("idempotency-key"),
        correlation_id=(request.context or {}).get("correlation_id"),
        caps=members.spend_caps(principal),
    )
