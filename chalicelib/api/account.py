"""/v1/me, /v1/keys, /v1/balance, /v1/ledger, /v1/usage: the caller's own account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import cursors
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import (
    authenticate,
    json_body,
    json_response,
    page_limit,
    query_params,
    validate,
)

account = Blueprint(__name__)


@account.route("/v1/me", methods=["GET"])
def get_me():
    from chalicelib.accounts import user_view, workspace_view

    p = authenticate(account.current_request)
    return json_response({"user": user_view(p.user), "workspace": workspace_view(p.workspace), "role": p.user.role})


@account.route("/v1/me", methods=["PATCH"])
def patch_me():
    from chalicelib.accounts import update_profile, user_view, workspace_view
    from chalicelib.api.schemas import MePatch

    request = account.current_request
    p = authenticate(request)
    body = validate(MePatch, json_body(request))
    settings = body.settings.model_dump(exclude_none=True) if body.settings else None
    user = update_profile(p.user, body.display_name, settings)
    return json_response({"user": user_view(user), "workspace": workspace_view(p.workspace), "role": user.role})


@account.route("/v1/keys", methods=["POST"])
def create_key():
    from chalicelib.accounts import create_key as create
    from chalicelib.accounts import key_view
    from chalicelib.api.idempotency import idempotent, secret_shown_once
    from chalicelib.api.schemas import KeyCreate

    request = account.current_request
    p = authenticate(request)
    body = validate(KeyCreate, json_body(request))

    def make():
        key, secret = create(p.user, body.name)
        return json_response({"key": key_view(key), "secret": secret}, 201)

    return idempotent(request, p.user.user_id, make, account.lambda_context, redact=secret_shown_once("secret"))


@account.route("/v1/keys", methods=["GET"])
def list_keys():
    from chalicelib.accounts import key_view
    from chalicelib.accounts import list_keys as keys_of

    p = authenticate(account.current_request)
    return json_response({"data": [key_view(k) for k in keys_of(p.user)], "next_cursor": None})


@account.route("/v1/keys/{key_id}", methods=["DELETE"])
def delete_key(key_id: str):
    from chalicelib.accounts import revoke_key

    p = authenticate(account.current_request)
    revoke_key(p.user, key_id)
    return Response(body="", status_code=204)  # API.md: a DELETE answers 204


@account.route("/v1/balance", methods=["GET"])
def balance():
    from chalicelib import clock
    from chalicelib.accounting.ledger import balance_view, get_wallet, roll_over
    from chalicelib.accounting.periods import period_of
    from chalicelib.accounting.plans import get_plan

    p = authenticate(account.current_request)
    ws = p.workspace
    now = clock.now()
    wallet = get_wallet(ws.workspace_id)
    if wallet.period < period_of(now):  # the first request of a new month rolls over
        roll_over(ws.workspace_id, period_of(now), get_plan(wallet.plan).monthly_allowance, now)
        wallet = get_wallet(ws.workspace_id)
    from chalicelib.billing.topup import view

    return json_response(balance_view(wallet, ws.billing_interval, view(ws.workspace_id)))


@account.route("/v1/ledger", methods=["GET"])
def ledger():
    from chalicelib.store.models import LedgerEntryModel

    request = account.current_request
    p = authenticate(request)
    params = query_params(request)
    limit = page_limit(params)
    workspace_id = p.workspace.workspace_id
    cursor = cursors.decode(params, "ledger", workspace_id)
    result = LedgerEntryModel.query(workspace_id, scan_index_forward=False, limit=limit, last_evaluated_key=cursor)
    rows = [entry_view(e) for e in result]
    return json_response({"data": rows, "next_cursor": cursors.encode("ledger", workspace_id, result.last_evaluated_key)})


def entry_view(e: Any) -> dict[str, Any]:
    from chalicelib import clock

    return {
        "id": e.entry_id, "type": e.type, "amount": int(e.amount), "held_delta": int(e.held_delta),
        "job_id": e.job_id, "user_id": e.user_id, "key_id": e.key_id, "provider": e.provider, "model": e.model,
        "period": e.period, "source": e.source, "reason": e.reason, "details": e.details or {},
        "created_at": clock.iso(e.created_at),
    }


def parse_time(params: dict[str, str], name: str) -> datetime | None:
    """One time parameter (`from`, `to`, `at`) through the one parser; 400 naming it when bad."""
    from chalicelib import clock

    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return clock.parse_iso(raw)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: {exc} (RFC 3339 or YYYY-MM-DD, within {clock.RANGE_TEXT})",
                             field=name) from None


def date_range(params: dict[str, str], default_days: int = 30) -> tuple[datetime, datetime]:
    """`from`/`to` as RFC 3339 or dates; defaults to the last `default_days` days; max 366."""
    from chalicelib import clock

    end = parse_time(params, "to") or clock.now()
    start = parse_time(params, "from") or max(end - timedelta(days=default_days), clock.EARLIEST)
    if start > end:
        raise InvalidRequest("from must not be after to", field="from")
    if end - start > timedelta(days=366):
        raise InvalidRequest("the range may span at most 366 days", field="from")
    return start, end


@account.route("/v1/usage", methods=["GET"])
def usage():
    from chalicelib.accounting.usage import GROUPS, workspace_usage

    request = account.current_request
    p = authenticate(request)
    params = query_params(request)
    group_by = params.get("group_by", "day")
    if group_by not in GROUPS:
        raise InvalidRequest(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    start, end = date_range(params)
    rows = workspace_usage(p.workspace.workspace_id, start, end, group_by)
    return json_response({"data": rows, "group_by": group_by, "next_cursor": None})
