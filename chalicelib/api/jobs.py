"""/v1/jobs: create (admission before the 202), list newest first, get, cancel."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import cursors
from chalicelib.api.http import (
    authenticate,
    json_body,
    json_response,
    page_limit,
    query_params,
    validate,
)

jobs = Blueprint(__name__)


@jobs.route("/v1/jobs", methods=["POST"])
def create_job():
    from chalicelib.api.idempotency import idempotent
    from chalicelib.api.schemas import JobCreate
    from chalicelib.generation import service

    request = jobs.current_request
    principal = authenticate(request)
    raw = json_body(request)
    body = validate(JobCreate, raw)
    idempotency_key = (request.headers or {}).get("idempotency-key")
    correlation_id = (request.context or {}).get("correlation_id")

    def create():
        job, rate, replayed = service.create_job(principal, body, raw, idempotency_key, correlation_id)
        headers = service.rate_headers(rate)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return json_response({"job": service.job_view(job)}, 202, headers)

    return idempotent(request, principal.user.user_id, create, jobs.lambda_context)


@jobs.route("/v1/jobs", methods=["GET"])
def list_jobs():
    from chalicelib.generation import service

    request = jobs.current_request
    principal = authenticate(request)
    params = query_params(request)
    limit = page_limit(params)
    workspace_id = principal.workspace.workspace_id
    cursor = cursors.decode(params, "jobs", workspace_id)
    items, last = service.list_jobs(workspace_id, limit, cursor)
    return json_response({"data": [service.job_view(j) for j in items],
                          "next_cursor": cursors.encode("jobs", workspace_id, last)})


@jobs.route("/v1/jobs/{job_id}", methods=["GET"])
def get_job(job_id: str):
    from chalicelib.generation import service

    principal = authenticate(jobs.current_request)
    return json_response({"job": service.job_view(service.get_job(principal.workspace.workspace_id, job_id))})


@jobs.route("/v1/jobs/{job_id}/cancel", methods=["POST"])
def cancel_job(job_id: str):
    from chalicelib.api.idempotency import idempotent
    from chalicelib.generation import service

    request = jobs.current_request
    principal = authenticate(request)
    json_body(request)  # no body is needed; one that is given must still be a JSON object
    return idempotent(request, principal.user.user_id, lambda: json_response(
        {"job": service.job_view(service.cancel_job(principal.workspace.workspace_id, job_id))}), jobs.lambda_context)
