"""/admin/api/*: platform operators' endpoints (403 for everyone else); every mutation audited."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api import cursors
from chalicelib.api.account import date_range, entry_view
from chalicelib.api.errors import InvalidRequest, NotFound
from chalicelib.api.http import (
    Principal,
    authenticate,
    json_body,
    json_response,
    page_limit,
    query_params,
    require_admin,
    validate,
)

admin = Blueprint(__name__)


def _admin() -> Principal:
    principal = authenticate(admin.current_request, allow_banned=True)
    require_admin(principal)
    return principal


def _actor(p: Principal) -> str:
    return p.user.user_id


@admin.route("/admin/api/meta", methods=["GET"])
def meta():
    """What the dashboard's filters and forms offer: plans, providers and models, scheduled jobs,
    the limit names an admin may override, and the credit value used for margins."""
    from chalicelib.accounting.plans import OVERRIDABLE, PLANS
    from chalicelib.accounting.prices import MODELS
    from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD
    from chalicelib.tasks import SCHEDULED

    p = _admin()
    return json_response({
        "plans": list(PLANS),
        "providers": sorted({provider for provider, _ in MODELS}),
        "models": [{"provider": provider, "model": model} for provider, model in sorted(MODELS)],
        "job_statuses": ["queued", "running", "succeeded", "failed", "canceled"],
        "scheduled": list(SCHEDULED),
        "limits": [name for name in OVERRIDABLE if name != "providers"],
        "credit_value_micro_usd": CREDIT_LIST_PRICE_MICRO_USD,
        "admin": {"user_id": p.user.user_id, "email": p.user.email},
    })


@admin.route("/admin/api/workspaces", methods=["POST"])
def create_workspace():
    from chalicelib.accounts import create_workspace as create
    from chalicelib.accounts import key_view, user_view, workspace_view
    from chalicelib.api.idempotency import idempotent, secret_shown_once
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

    return idempotent(admin.current_request, _actor(p), make, admin.lambda_context, redact=secret_shown_once("api_key"))


@admin.route("/admin/api/workspaces", methods=["GET"])
def list_workspaces():
    from chalicelib.accounts import workspace_view
    from chalicelib.store.models import WorkspaceModel

    p = _admin()
    params = query_params(admin.current_request)
    limit = page_limit(params)
    scope = p.workspace.workspace_id
    after = (cursors.decode(params, "admin.workspaces", scope) or {}).get("id")
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
    if isinstance(after, str):
        rows = [r for r in rows if r["id"] < after]
    page = rows[:limit]
    position = {"id": page[-1]["id"]} if len(rows) > limit else None
    return json_response({"data": page, "next_cursor": cursors.encode("admin.workspaces", scope, position)})


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
    from chalicelib.api.errors import Conflict
    from chalicelib.api.idempotency import idempotent
    from chalicelib.api.schemas import CreditAdjust

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
    overrides = body.model_dump(exclude_none=True, exclude={"reason", "requests_per_minute"})
    if body.requests_per_minute is not None:
        for scope in ("user", "workspace", "key"):
            overrides.setdefault(f"requests_per_minute_{scope}", body.requests_per_minute)
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
    # A ban needs its reason; an unban may give one (the dashboard always does).
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
    from chalicelib.api.schemas import OptionalReason
    from chalicelib.store.models import AuditModel
    from chalicelib.tasks import SCHEDULED

    p = _admin()
    raw = json_body(admin.current_request)
    reason = validate(OptionalReason, raw).reason if raw else None
    if name not in SCHEDULED:
        raise NotFound(f"no scheduled job {name!r}; one of {', '.join(SCHEDULED)}")
    result = SCHEDULED[name]()
    AuditModel("platform", ids.new_id("aud", clock.now()), actor=_actor(p), action=f"scheduled.{name}",
               after={"result": result}, reason=reason or None, created_at=clock.now()).save()
    return json_response({"name": name, "result": result})


def _usage_filters(params: dict[str, str]) -> dict[str, str | None]:
    """The usage filters of the admin views: provider and model names, a workspace, a user."""
    from chalicelib.accounting.plans import PROVIDER_QUOTAS

    out: dict[str, str | None] = {}
    for name in ("workspace_id", "user_id", "provider", "model"):
        value = params.get(name, "").strip() or None
        if value is not None and (len(value) > 100 or not value.replace("-", "").replace("_", "").replace(".", "").isalnum()):
            raise InvalidRequest(f"{name} is not a valid identifier", field=name)
        out[name] = value
    if out["provider"] and out["provider"] not in PROVIDER_QUOTAS:
        raise InvalidRequest(f"provider must be one of {', '.join(PROVIDER_QUOTAS)}", field="provider")
    if out["user_id"] and not out["workspace_id"]:
        raise InvalidRequest("user_id needs workspace_id", field="user_id")
    return out


def _usage_rows(params: dict[str, str], group_by: str) -> list[dict[str, Any]]:
    from chalicelib.accounting.usage import platform_usage, workspace_usage

    start, end = date_range(params)
    f = _usage_filters(params)
    status = params.get("status")
    if status and status not in ("succeeded", "failed"):
        raise InvalidRequest("status must be succeeded or failed for usage", field="status")
    if group_by == "user" and not f["workspace_id"]:
        raise InvalidRequest("group_by=user needs workspace_id", field="group_by")
    by_provider = f["provider"] or f["model"] or group_by in ("provider", "model", "provider_day")
    if (f["user_id"] or group_by == "user") and by_provider:
        raise InvalidRequest("usage by user has no provider or model breakdown", field="group_by")
    if f["workspace_id"]:
        rows = workspace_usage(f["workspace_id"], start, end, group_by, provider=f["provider"], model=f["model"],
                               user_id=f["user_id"])
    else:
        rows = platform_usage(start, end, group_by, provider=f["provider"], model=f["model"])
    if status:  # rollups count succeeded (`jobs`) and `failed` jobs side by side
        column = "jobs" if status == "succeeded" else "failed"
        rows = [r for r in rows if r[column]]
    return rows


@admin.route("/admin/api/usage", methods=["GET"])
def platform_usage():
    """Spend, cost and jobs from the daily rollups (never the ledger): a handful of queries."""
    from chalicelib.accounting.usage import top_workspaces, totals
    from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD

    _admin()
    params = query_params(admin.current_request)
    group_by = params.get("group_by", "day")
    if group_by not in ("day", "provider", "model", "user", "provider_day"):
        raise InvalidRequest("group_by must be day, provider, model, user or provider_day", field="group_by")
    rows = _usage_rows(params, group_by)
    start, end = date_range(params)
    top = [] if params.get("workspace_id") else top_workspaces(start, end)
    return json_response({
        "data": rows, "group_by": group_by, "top_workspaces": top,
        "totals": totals(rows, CREDIT_LIST_PRICE_MICRO_USD),
        "credit_value_micro_usd": CREDIT_LIST_PRICE_MICRO_USD,
    })


@admin.route("/admin/api/jobs", methods=["GET"])
def admin_jobs():
    from chalicelib.generation.service import job_view
    from chalicelib.ops import find_jobs

    p = _admin()
    params = query_params(admin.current_request)
    limit = page_limit(params)
    start, end = date_range(params, default_days=1)
    status = params.get("status")
    if status and status not in ("queued", "running", "succeeded", "failed", "canceled"):
        raise InvalidRequest("unknown status", field="status")
    f = _usage_filters(params)
    # The workspace and status filters pick the partition or index the position belongs to.
    scope = f"{p.workspace.workspace_id}|{f['workspace_id'] or ''}|{status or ''}"
    cursor = cursors.decode(params, "admin.jobs", scope)
    jobs, last = find_jobs(f["workspace_id"], status, start, end, limit, cursor)
    data = []
    for job in jobs:
        if (f["provider"] and job.provider != f["provider"]) or (f["model"] and job.model != f["model"]) or (
                f["user_id"] and job.user_id != f["user_id"]):
            continue
        view = job_view(job)
        view["workspace_id"] = job.workspace_id
        view["user_id"] = job.user_id
        data.append(view)
    return json_response({"data": data, "next_cursor": cursors.encode("admin.jobs", scope, last)})


@admin.route("/admin/api/denials", methods=["GET"])
def admin_denials():
    """Refused admissions in a window (402/429/403 answers), newest first: the other half of 14:32."""
    from chalicelib import clock
    from chalicelib.accounting.denials import find_denials

    _admin()
    params = query_params(admin.current_request)
    limit = page_limit(params)
    start, end = date_range(params, default_days=1)
    f = _usage_filters(params)
    rows = find_denials(f["workspace_id"], start, end, limit)
    return json_response({"data": [{
        "id": d.denial_id, "workspace_id": d.workspace_id, "user_id": d.user_id, "key_id": d.key_id, "code": d.code,
        "scope": d.scope, "provider": d.provider, "message": d.message, "request_id": d.request_id,
        "created_at": clock.iso(d.created_at),
    } for d in rows if not f["user_id"] or d.user_id == f["user_id"]]})


_FORMULA_STARTS = ("=", "+", "-", "@")


def _csv_cell(value: Any) -> Any:
    """Spreadsheets run text cells as formulas when their first non-blank character is = + - @
    (leading spaces and line breaks are skipped), and tab/CR/LF at the start can smuggle one:
    such cells get a leading apostrophe, as OWASP advises (numbers stay numbers)."""
    if not isinstance(value, str):
        return value
    if value[:1] in ("\t", "\r", "\n") or value.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def _csv_response(header: list[str], rows: Any, filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line endings
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return Response(body=out.getvalue(), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


@admin.route("/admin/api/reports/usage.csv", methods=["GET"])
def usage_csv():
    """Usage for the filtered range; `group_by=workspace_day_provider` is one row per workspace,
    day, provider and model (one rollup query per workspace that spent in those months)."""
    from chalicelib.accounting.usage import FIELDS, top_workspaces, workspace_day_model_rows

    _admin()
    params = query_params(admin.current_request)
    start, end = date_range(params)
    group_by = params.get("group_by", "day")
    if group_by not in ("day", "provider", "model", "user", "provider_day", "workspace_day_provider"):
        raise InvalidRequest("group_by must be day, provider, model, user, provider_day or workspace_day_provider",
                             field="group_by")
    filename = f"usage-{group_by}-{start.date()}-{end.date()}.csv"
    if group_by != "workspace_day_provider":
        rows = _usage_rows(params, group_by)
        return _csv_response([group_by, *FIELDS], ([r["key"], *(r[f] for f in FIELDS)] for r in rows), filename)
    f = _usage_filters(params)
    if f["user_id"]:
        raise InvalidRequest("usage by user has no provider breakdown", field="user_id")
    workspaces = [f["workspace_id"]] if f["workspace_id"] else sorted(
        r["key"] for r in top_workspaces(start, end, limit=100_000))
    lines = []
    for ws in workspaces:
        for row in workspace_day_model_rows(ws, start, end, provider=f["provider"], model=f["model"]):
            lines.append([row["day"], ws, row["provider"], row["model"], *(row[name] for name in FIELDS)])
    return _csv_response(["day", "workspace_id", "provider", "model", *FIELDS], lines, filename)


@admin.route("/admin/api/reports/ledger.csv", methods=["GET"])
def ledger_csv():
    """A workspace's ledger entries in the range, oldest first (a key-range query on its ledger)."""
    from chalicelib import clock, ids
    from chalicelib.accounts import get_workspace as load
    from chalicelib.store.models import LedgerEntryModel

    _admin()
    params = query_params(admin.current_request)
    start, end = date_range(params)
    f = _usage_filters(params)
    if not f["workspace_id"]:
        raise InvalidRequest("the ledger export is per workspace: give workspace_id", field="workspace_id")
    load(f["workspace_id"])
    low, high = f"led_{ids.ulid_bound(start, upper=False)}", f"led_{ids.ulid_bound(end, upper=True)}"
    entries = LedgerEntryModel.query(f["workspace_id"], LedgerEntryModel.entry_id.between(low, high))

    def rows() -> Any:
        for e in entries:
            if f["user_id"] and e.user_id != f["user_id"]:
                continue
            if (f["provider"] and e.provider != f["provider"]) or (f["model"] and e.model != f["model"]):
                continue
            d = e.details or {}
            yield [clock.iso(e.created_at), e.entry_id, e.type, int(e.amount), int(e.held_delta), e.job_id or "",
                   e.user_id or "", e.provider or "", e.model or "", int(d.get("cost_micro_usd", 0) or 0),
                   e.source or "", e.reason or ""]

    header = ["created_at", "entry_id", "type", "amount", "held_delta", "job_id", "user_id", "provider", "model",
              "cost_micro_usd", "source", "reason"]
    return _csv_response(header, rows(), f"ledger-{f['workspace_id']}-{start.date()}-{end.date()}.csv")
