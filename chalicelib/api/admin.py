"""/admin/api/*: platform operators' endpoints (403 for everyone else); every mutation audited."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.account import date_range, entry_view
from chalicelib.api.http import (
    Principal,
    authenticate,
    decode_cursor,
    encode_cursor,
    json_body,
    json_response,
    page_limit,
    query_params,
    require_admin,
    validate,
)
from chalicelib.errors import InvalidRequest, NotFound

admin = Blueprint(__name__)


def _admin() -> Principal:
    principal = authenticate(admin.current_request, allow_banned=True)
    require_admin(principal)
    return principal


def _actor(p: Principal) -> str:
    return p.user.user_id


@admin.route("/admin/api/workspaces", methods=["POST"])
def create_workspace():
    from chalicelib.accounts import create_workspace as create
    from chalicelib.accounts import key_view, user_view, workspace_view
    from chalicelib.api.idempotency import idempotent
    from chalicelib.api.schemas import WorkspaceCreate

    p = _admin()
    body = validate(WorkspaceCreate, json_body(admin.current_request))

    def make() -> Response:
        made = create(body.name, body.owner_email, body.plan, actor=_actor(p))
        return json_response({
            "workspace": workspace_view(made.workspace),
            "owner": user_view(made.owner),
            "api_key": made.secret,
            "key": key_view(made.key),
        }, 201)

    return idempotent(admin.current_request, _actor(p), make, admin.lambda_context)


@admin.route("/admin/api/workspaces", methods=["GET"])
def list_workspaces():
    from chalicelib.accounts import workspace_view
    from chalicelib.store.models import WorkspaceModel

    _admin()
    params = query_params(admin.current_request)
    limit = page_limit(params)
    query = params.get("query", "").strip().lower()
    status, plan = params.get("status"), params.get("plan")
    if status and status not in ("active", "banned"):
        raise InvalidRequest("status must be active or banned", field="status")
    rows = []
    for ws in WorkspaceModel.scan():
        if status and ws.status != status:
            continue
        if plan and ws.plan != plan:
            continue
        if query and query not in ws.name.lower() and query not in ws.workspace_id.lower():
            continue
        rows.append(workspace_view(ws))
    rows.sort(key=lambda r: r["id"], reverse=True)
    cursor = params.get("cursor")
    if cursor:
        rows = [r for r in rows if r["id"] < cursor]
    page = rows[:limit]
    return json_response({"data": page, "next_cursor": page[-1]["id"] if len(rows) > limit else None})


@admin.route("/admin/api/workspaces/{workspace_id}", methods=["GET"])
def get_workspace(workspace_id: str):
    from chalicelib.accounting.ledger import balance_view, get_wallet
    from chalicelib.accounting.plans import effective_limits
    from chalicelib.accounts import get_workspace as load
    from chalicelib.accounts import user_view, workspace_view
    from chalicelib.generation.service import job_view
    from chalicelib.store.models import AuditModel, JobModel, LedgerEntryModel, UserModel

    _admin()
    ws = load(workspace_id)
    wallet = get_wallet(workspace_id)
    return json_response({
        "workspace": workspace_view(ws),
        "balance": balance_view(wallet, ws.billing_interval, (ws.billing or {}).get("auto_topup")),
        "limits": effective_limits(ws.plan, ws.limits).as_dict(),
        "users": [user_view(u) for u in UserModel.by_workspace.query(workspace_id)],
        "ledger": [entry_view(e) for e in LedgerEntryModel.query(workspace_id, scan_index_forward=False, limit=20)],
        "jobs": [job_view(j) for j in JobModel.query(workspace_id, scan_index_forward=False, limit=20)],
        "audit": [audit_view(a) for a in AuditModel.query(workspace_id, scan_index_forward=False, limit=50)],
    })


def audit_view(a: Any) -> dict[str, Any]:
    from chalicelib import clock

    return {"id": a.audit_id, "target": a.target, "actor": a.actor, "action": a.action, "before": a.before,
            "after": a.after, "reason": a.reason, "created_at": clock.iso(a.created_at)}


@admin.route("/admin/api/workspaces/{workspace_id}/credits", methods=["POST"])
def adjust_credits(workspace_id: str):
    from chalicelib import clock
    from chalicelib.accounting.errors import InsufficientForAdjustment
    from chalicelib.accounting.ledger import adjust
    from chalicelib.accounts import get_workspace as load
    from chalicelib.api.idempotency import idempotent
    from chalicelib.api.schemas import CreditAdjust
    from chalicelib.errors import Conflict

    p = _admin()
    body = validate(CreditAdjust, json_body(admin.current_request))
    load(workspace_id)

    def apply() -> Response:
        try:
            entry = adjust(workspace_id, body.amount, reason=body.reason, actor=_actor(p), now=clock.now())
        except InsufficientForAdjustment as exc:
            raise Conflict(f"a deduction of {-body.amount} would make available negative; {exc.available} available",
                           available=exc.available) from None
        assert entry is not None
        return json_response({"entry": entry_view(entry)}, 201)

    return idempotent(admin.current_request, _actor(p), apply, admin.lambda_context)


@admin.route("/admin/api/workspaces/{workspace_id}/limits", methods=["PUT"])
def put_limits(workspace_id: str):
    from chalicelib import clock, ids
    from chalicelib.accounting.plans import effective_limits
    from chalicelib.accounts import get_workspace as load
    from chalicelib.api.schemas import LimitsPut
    from chalicelib.store.models import AuditModel, WorkspaceModel

    p = _admin()
    body = validate(LimitsPut, json_body(admin.current_request))
    ws = load(workspace_id)
    overrides = body.model_dump(exclude_none=True, exclude={"reason"})
    before = dict(ws.limits or {})
    ws.update(actions=[WorkspaceModel.limits.set(overrides)])
    AuditModel(workspace_id, ids.new_id("aud", clock.now()), actor=_actor(p), action="workspace.limits",
               before=before, after=overrides, reason=body.reason or None, created_at=clock.now()).save()
    return json_response({"limits": effective_limits(ws.plan, overrides).as_dict(), "overrides": overrides})


def _ban(kind: str, target_id: str, banned: bool) -> Response:
    from chalicelib.accounts import set_ban
    from chalicelib.api.schemas import BanBody

    p = _admin()
    raw = json_body(admin.current_request)
    reason = validate(BanBody, raw).reason if banned or raw else "unban"
    return json_response(set_ban(kind, target_id, banned, actor=_actor(p), reason=reason))


@admin.route("/admin/api/workspaces/{workspace_id}/ban", methods=["POST"])
def ban_workspace(workspace_id: str):
    return _ban("workspace", workspace_id, True)


@admin.route("/admin/api/workspaces/{workspace_id}/unban", methods=["POST"])
def unban_workspace(workspace_id: str):
    return _ban("workspace", workspace_id, False)


@admin.route("/admin/api/users/{user_id}/ban", methods=["POST"])
def ban_user(user_id: str):
    return _ban("user", user_id, True)


@admin.route("/admin/api/users/{user_id}/unban", methods=["POST"])
def unban_user(user_id: str):
    return _ban("user", user_id, False)


@admin.route("/admin/api/scheduled/{name}/run", methods=["POST"])
def run_scheduled(name: str):
    from chalicelib import clock, ids
    from chalicelib.scheduled import SCHEDULED
    from chalicelib.store.models import AuditModel

    p = _admin()
    if name not in SCHEDULED:
        raise NotFound(f"no scheduled job {name!r}; one of {', '.join(SCHEDULED)}")
    result = SCHEDULED[name]()
    AuditModel("platform", ids.new_id("aud", clock.now()), actor=_actor(p), action=f"scheduled.{name}",
               after={"result": result}, created_at=clock.now()).save()
    return json_response({"name": name, "result": result})


@admin.route("/admin/api/usage", methods=["GET"])
def platform_usage():
    from chalicelib.accounting.usage import platform_usage as usage_of
    from chalicelib.accounting.usage import top_workspaces, workspace_usage

    _admin()
    params = query_params(admin.current_request)
    start, end = date_range(params)
    group_by = params.get("group_by", "day")
    if group_by not in ("day", "provider", "model", "user", "provider_day"):
        raise InvalidRequest("group_by must be day, provider, model, user or provider_day", field="group_by")
    ws = params.get("workspace_id")
    if ws:
        rows = workspace_usage(ws, start, end, "day" if group_by == "provider_day" else group_by)
    else:
        if group_by == "user":
            raise InvalidRequest("group_by=user needs workspace_id", field="group_by")
        rows = usage_of(start, end, group_by)
    provider = params.get("provider")
    if provider and group_by in ("provider", "model"):
        rows = [r for r in rows if r["key"].split("/")[0] == provider]
    return json_response({"data": rows, "group_by": group_by, "top_workspaces": top_workspaces(start, end)})


@admin.route("/admin/api/jobs", methods=["GET"])
def admin_jobs():
    from chalicelib.generation.service import job_view
    from chalicelib.ops import find_jobs

    _admin()
    params = query_params(admin.current_request)
    limit = page_limit(params)
    start, end = date_range(params, default_days=1)
    status = params.get("status")
    if status and status not in ("queued", "running", "succeeded", "failed", "canceled"):
        raise InvalidRequest("unknown status", field="status")
    cursor = decode_cursor(params, {"workspace_id", "job_id", "status"})
    jobs, last = find_jobs(params.get("workspace_id"), status, start, end, limit, cursor)
    data = []
    for job in jobs:
        view = job_view(job)
        view["workspace_id"] = job.workspace_id
        view["user_id"] = job.user_id
        data.append(view)
    return json_response({"data": data, "next_cursor": encode_cursor(last)})


@admin.route("/admin/api/reports/usage.csv", methods=["GET"])
def usage_csv():
    from chalicelib.accounting.usage import FIELDS, workspace_usage
    from chalicelib.accounting.usage import platform_usage as usage_of

    _admin()
    params = query_params(admin.current_request)
    start, end = date_range(params)
    group_by = params.get("group_by", "day")
    if group_by not in ("day", "provider", "model", "user"):
        raise InvalidRequest("group_by must be day, provider, model or user", field="group_by")
    ws = params.get("workspace_id")
    if group_by == "user" and not ws:
        raise InvalidRequest("group_by=user needs workspace_id", field="group_by")
    rows = workspace_usage(ws, start, end, group_by) if ws else usage_of(start, end, group_by)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([group_by, *FIELDS])
    for row in rows:
        writer.writerow([row["key"], *(row[f] for f in FIELDS)])
    filename = f"usage-{group_by}-{start.date()}-{end.date()}.csv"
    return Response(body=out.getvalue(), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
    })
