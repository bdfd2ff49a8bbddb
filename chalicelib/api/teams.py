"""Teams: service keys, members, invitations, the caller's workspaces, and the local mail outbox.

Each route parses, names its permission (tenancy/permissions.py), makes one service call and
renders; who may change whom (owners, the last owner) is the services' rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api.http import authenticate, json_body, validate
from chalicelib.api.idempotency import idempotent, secret_shown_once
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.store.keys as key_store
    import chalicelib.tenancy.keys as key_service
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    key_store = lazy_module("chalicelib.store.keys")
    key_service = lazy_module("chalicelib.tenancy.keys")

teams = Blueprint(__name__)


@route(teams, "/v1/service-keys", methods=["POST"])
def create_service_key() -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.MEMBERS_WRITE)
    body = validate(schemas.KeyCreate, json_body(request))
    grant = key_store.KeyGrant(body.scopes, body.credits_per_day, body.credits_per_month)
    return idempotent(
        request,
        f"{caller.workspace_id}:service-keys",
        lambda: render(responses.KeyCreated.of(key_service.create_service_key(caller, body.name, grant)), 201),
        teams.lambda_context,
        redact=secret_shown_once("secret"),
    )


@route(teams, "/v1/service-keys", methods=["GET"])
def list_service_keys() -> Response:
    caller = authenticate(teams.current_request, permissions.MEMBERS_WRITE)
    return render(responses.KeyPage.of(key_service.list_service_keys(caller.workspace_id)))


@route(teams, "/v1/service-keys/{key_id}", methods=["DELETE"])
def delete_service_key(key_id: str) -> Response:
    caller = authenticate(teams.current_request, permissions.MEMBERS_WRITE)
    key_service.revoke_service_key(caller.workspace_id, key_id)
    return no_content()
