"""/v1/me, /v1/keys, /v1/balance, /v1/ledger, /v1/usage: the caller's own account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api import cursors
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent, secret_shown_once
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.params as ranges
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.tenancy.account as workspace_account
    import chalicelib.tenancy.keys as key_service
    import chalicelib.tenancy.service as service
else:
    ranges = lazy_module("chalicelib.api.params")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    service = lazy_module("chalicelib.tenancy.service")
    key_service = lazy_module("chalicelib.tenancy.keys")
    workspace_account = lazy_module("chalicelib.tenancy.account")

account = Blueprint(__name__)


@route(account, "/v1/me", methods=["GET"])
def get_me() -> Response:
    caller = authenticate(account.current_request, permissions.SELF)
    return render(responses.MeView.of(caller.user, caller.workspace, caller.role))


@route(account, "/v1/me", methods=["PATCH"])
def patch_me() -> Response:
    caller = authenticate(account.current_request, permissions.SELF)
    body = validate(schemas.MePatch, json_body(account.current_request))
    user = service.update_profile(caller, body.display_name, body.settings_given())
    return render(responses.MeView.of(user, caller.workspace, caller.role))


@route(account, "/v1/keys", methods=["POST"])
def create_key() -> Response:
    request = account.current_request
    caller = authenticate(request, permissions.KEYS_OWN)
    body = validate(schemas.KeyCreate, json_body(request))
    grant = key_service.KeyGrant(body.scopes, body.credits_per_day, body.credits_per_month)
    return idempotent(
        request,
        caller.replay_scope,
        lambda: render(responses.KeyCreated.of(key_service.create_key(caller, body.name, grant)), 201),
        account.lambda_context,
        redact=secret_shown_once("secret"),
    )


@route(account, "/v1/keys", methods=["GET"])
def list_keys() -> Response:
    caller = authenticate(account.current_request, permissions.SELF)
    return render(responses.KeyPage.of(key_service.list_keys(caller)))


@route(account, "/v1/keys/{key_id}", methods=["DELETE"])
def delete_key(key_id: str) -> Response:
    caller = authenticate(account.current_request, permissions.SELF)
    key_service.revoke_key(caller, key_id)
    return no_content()


@route(account, "/v1/balance", methods=["GET"])
def balance() -> Response:
    caller = authenticate(account.current_request, permissions.BILLING_READ)
    return render(responses.BalanceView.of(workspace_account.current_balance(caller.workspace)))


@route(account, "/v1/ledger", methods=["GET"])
def ledger() -> Response:
    caller = authenticate(account.current_request, permissions.BILLING_READ)
    params = query_params(account.current_request)
    limit, position = page_limit(params), cursors.decode(params, "ledger", caller.workspace_id)
    entries, last = workspace_account.ledger_page(caller.workspace_id, limit, position)
    return render(responses.LedgerPage.of(entries, cursors.encode("ledger", caller.workspace_id, last)))


@route(account, "/v1/usage", methods=["GET"])
def usage() -> Response:
    caller = authenticate(account.current_request, permissions.JOBS_READ)
    params = query_params(account.current_request)
    start, end = ranges.date_range(params)
    return render(responses.UsagePage.of(workspace_account.usage(caller.workspace_id, start, end, params.get("group_by", "day"))))
