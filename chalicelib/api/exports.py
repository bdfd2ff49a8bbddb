"""/v1/exports: zips of library images (API.md "Library"; the rules in `chalicelib.library.exports`).

Exporting is reading the library (`library:read`, every role: DESIGN.md's matrix); an export
costs no credits, and a workspace has at most a few queued or running at once (429).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api import cursors
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.library.exports as service
    import chalicelib.library.images as images
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    service = lazy_module("chalicelib.library.exports")
    images = lazy_module("chalicelib.library.images")

exports = Blueprint(__name__)


@route(exports, "/v1/exports", methods=["POST"])
def create_export() -> Response:
    request = exports.current_request
    principal = authenticate(request, permissions.LIBRARY_EXPORT)
    body = validate(schemas.ExportCreate, json_body(request))
    actor = images.actor_of(principal)

    def create() -> Response:
        return render(responses.ExportEnvelope.of(service.create_export(actor, body.image_ids, body.folder_id)), 202)

    return idempotent(request, principal.replay_scope, create, exports.lambda_context)


@route(exports, "/v1/exports", methods=["GET"])
def list_exports() -> Response:
    request = exports.current_request
    workspace_id = authenticate(request, permissions.LIBRARY_EXPORT).workspace_id
    params = query_params(request)
    limit, cursor = page_limit(params), cursors.decode(params, "exports", workspace_id)
    found, last = service.list_exports(workspace_id, limit, cursor)
    return render(responses.ExportPage.of(found, cursors.encode("exports", workspace_id, last)))


@route(exports, "/v1/exports/{export_id}", methods=["GET"])
def get_export(export_id: str) -> Response:
    principal = authenticate(exports.current_request, permissions.LIBRARY_EXPORT)
    return render(responses.ExportEnvelope.of(service.get_export(principal.workspace_id, export_id)))
