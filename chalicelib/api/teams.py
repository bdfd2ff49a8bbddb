"""Teams: service keys, members, invitations, the caller's workspaces, and the local mail outbox.

Each route parses, names its permission (tenancy/permissions.py), makes one service call and
renders; who may change whom (owners, the last owner) is the services' rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api.errors import InvalidRequest, NotFound
from chalicelib.api.http import authenticate, authenticate_admin, json_body, query_params, validate
from chalicelib.api.idempotency import idempotent, secret_shown_once
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.clock as clock
    import chalicelib.tenancy.invitations as invitations
    import chalicelib.tenancy.keys as key_service
    import chalicelib.tenancy.mail as mail
    import chalicelib.tenancy.members as members
else:
    clock = lazy_module("chalicelib.clock")
    invitations = lazy_module("chalicelib.tenancy.invitations")
    mail = lazy_module("chalicelib.tenancy.mail")
    members = lazy_module("chalicelib.tenancy.members")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    key_service = lazy_module("chalicelib.tenancy.keys")

teams = Blueprint(__name__)


@route(teams, "/v1/service-keys", methods=["POST"])
def create_service_key() -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.MEMBERS_WRITE)
    body = validate(schemas.KeyCreate, json_body(request))
    grant = key_service.KeyGrant(body.scopes, body.credits_per_day, body.credits_per_month)
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


# --- members and workspaces ---------------------------------------------------------------------


@route(teams, "/v1/members", methods=["GET"])
def list_members() -> Response:
    caller = authenticate(teams.current_request, permissions.SELF)  # everyone sees who they work with
    return render(responses.MemberPage.of(members.list_members(caller.workspace_id)))


@route(teams, "/v1/members/{user_id}", methods=["PATCH"])
def patch_member(user_id: str) -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.MEMBERS_WRITE)
    body = validate(schemas.MemberPatch, json_body(request))
    changed = members.update_member(caller, user_id, body.role, body.cap_given(), body.credits_per_month)
    return render(responses.MemberEnvelope.of(changed))


@route(teams, "/v1/members/{user_id}", methods=["DELETE"])
def delete_member(user_id: str) -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.MEMBERS_WRITE)
    dry_run = _flag(query_params(request), "dry_run")
    removal = members.remove_member(caller, user_id, dry_run=dry_run)
    return render(responses.RemovalView.of(removal)) if dry_run else no_content()


@route(teams, "/v1/members/{user_id}/transfer-ownership", methods=["POST"])
def transfer_ownership(user_id: str) -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.WORKSPACE_OWN)
    json_body(request)  # none is needed; one that is given must still be a JSON object
    return render(responses.MemberEnvelope.of(members.transfer_ownership(caller, user_id)))


@route(teams, "/v1/workspaces", methods=["GET"])
def my_workspaces() -> Response:
    caller = authenticate(teams.current_request, permissions.SELF)
    return render(responses.BelongingPage.of(members.my_workspaces(caller)))


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise InvalidRequest(f"{name} must be true or false", field=name)
    return value == "true"


# --- invitations --------------------------------------------------------------------------------


@route(teams, "/v1/invitations", methods=["POST"])
def create_invitation() -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.MEMBERS_WRITE)
    body = validate(schemas.InvitationCreate, json_body(request))
    return idempotent(
        request,
        caller.replay_scope,
        lambda: render(responses.InvitationEnvelope.of(invitations.invite(caller, body.email, body.role), clock.now()), 201),
        teams.lambda_context,
    )


@route(teams, "/v1/invitations", methods=["GET"])
def list_invitations() -> Response:
    caller = authenticate(teams.current_request, permissions.MEMBERS_WRITE)
    return render(responses.InvitationPage.of(invitations.list_invitations(caller.workspace_id), clock.now()))


@route(teams, "/v1/invitations/{invitation_id}", methods=["DELETE"])
def delete_invitation(invitation_id: str) -> Response:
    caller = authenticate(teams.current_request, permissions.MEMBERS_WRITE)
    invitations.revoke(caller.workspace_id, invitation_id)
    return no_content()


@route(teams, "/v1/invitations/{invitation_id}/resend", methods=["POST"])
def resend_invitation(invitation_id: str) -> Response:
    request = teams.current_request
    caller = authenticate(request, permissions.MEMBERS_WRITE)
    json_body(request)
    return render(responses.InvitationEnvelope.of(invitations.resend(caller, invitation_id), clock.now()))


@route(teams, "/v1/invitations/accept", methods=["POST"])
def accept_invitation() -> Response:
    request = teams.current_request
    body = validate(schemas.InvitationAccept, json_body(request))
    signed_in = bool(request.headers and request.headers.get("authorization"))
    caller = authenticate(request, permissions.SELF) if signed_in else None
    return render(responses.AcceptedView.of(invitations.accept(body.token, caller)))


# --- the local outbox ---------------------------------------------------------------------------


@route(teams, "/admin/api/outbox", methods=["GET"])
def outbox() -> Response:
    authenticate_admin(teams.current_request)
    if not mail.has_outbox():
        raise NotFound("there is no outbox in a deployed stage: mail goes through SES")
    to = query_params(teams.current_request).get("to", "")
    if not 3 <= len(to) <= 254 or "@" not in to:
        raise InvalidRequest("to must be an email address", field="to")
    return render(responses.OutboxPage.of(mail.outbox(to)))
