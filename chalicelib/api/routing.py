"""How every route is declared and answers: `route` registers a view on a blueprint and turns the
domain errors its service raises into the error envelope; `render` answers a response model.

A route reads like this (parse → one service call → render)::

    @route(jobs, "/v1/jobs/{job_id}", methods=["GET"])
    def get_job(job_id: str) -> Response:
        principal = authenticate(jobs.current_request, permissions.JOBS_READ)
        return render(responses.JobEnvelope.of(service.get_job(principal.workspace.workspace_id, job_id)))

Chalice lets only `ChaliceUnhandledError` (our `ApiError`) through to the middleware that
writes the envelope; anything else becomes its own 500. Wrapping the view here is what lets
services stay free of HTTP.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import Response

from chalicelib.api.errors import to_api_error
from chalicelib.api.http import json_response
from chalicelib.domain import DomainError

if TYPE_CHECKING:
    from chalice import Blueprint, Chalice
    from pydantic import BaseModel

View = TypeVar("View", bound=Callable[..., Response])


def route(owner: Blueprint | Chalice, path: str, **options: Any) -> Callable[[View], View]:
    """`owner.route(path, **options)` for a view whose domain errors become error envelopes."""

    def register(view: View) -> View:
        @functools.wraps(view)
        def answering(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                raise to_api_error(error) from error

        owner.route(path, **options)(answering)
        return view

    return register


def render(body: BaseModel | list[Any] | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A response model (or a plain JSON value) as the JSON answer, with RFC 3339 times."""
    from pydantic import BaseModel

    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return json_response(data, status, headers)


def no_content() -> Response:
    """204 for a DELETE (API.md)."""
    return Response(body="", status_code=204)
