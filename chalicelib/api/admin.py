"""/admin/api/*: platform operators' endpoints (403 for everyone else); every mutation audited
(by the services of `chalicelib.tenancy.admin`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api import cursors, params
from chalicelib.api.http import authenticate_admin, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent, secret_shown_once
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module

if TYPE_CHECKING:
    import chalicelib.api.csv_files as csv_files
    import chalicelib.api.openapi as openapi
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.tenancy.admin as operators
    import chalicelib.tenancy.auth as auth
    import chalicelib.tenancy.reports as reports
    import chalicelib.tenancy.service as service
else:
    auth = lazy_module("chalicelib.tenancy.auth")
    csv_files = lazy_module("chalicelib.api.csv_files")
    openapi = lazy_module("chalicelib.api.openapi")
    operators = lazy_module("chalicelib.tenancy.admin")
    reports = lazy_module("chalicelib.tenancy.reports")
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    service = lazy_module("chalicelib.tenancy.service")

admin = Blueprint(__name__)


def _admin() -> auth.Principal:
    return authenticate_admin(admin.current_request)


def _query() -> dict[str, str]:
    """The query string; names the route does not take are refused (the spec's list: openapi.QUERIES)."""
    request = admin.current_request
    key = (request.method, str(request.context.get("resourcePath", "")))
    return params.known(query_params(request), openapi.QUERIES.get(key, ()))


def _ban_reason(banned: bool) -> str:
    """A ban needs its reason; an unban may give one (the dashboard always does)."""
    raw = json_body(admin.current_request)
    return validate(schemas.BanBody, raw).reason if banned or raw else "unban"


@route(admin, "/admin/api/meta", methods=["GET"])
def meta() -> Response:
    """Plans, providers and models, scheduled jobs, the limit names an admin may override, and
    the credit value used for margins."""
    caller = _admin()
    return render(responses.AdminMeta.of(operators.catalog(), caller))


@route(admin, "/admin/api/workspaces", methods=["POST"])
def create_workspace() -> Response:
    caller = _admin()
    body = validate(schemas.WorkspaceCreate, json_body(admin.current_request))
    return idempotent(
        admin.current_request,
        caller.user_id,
        lambda: render(
            responses.WorkspaceCreated.of(service.create_workspace(body.name, body.owner_email, body.plan, actor=caller.user_id)),
            201,
        ),
        admin.lambda_context,
        redact=secret_shown_once("api_key"),
    )


@route(admin, "/admin/api/workspaces", methods=["GET"])
def list_workspaces() -> Response:
    caller, query = _admin(), _query()
    limit, position = page_limit(query), cursors.decode(query, "admin.workspaces", caller.workspace_id) or {}
    before = position.get("id") if isinstance(position.get("id"), str) else None
    found, after = operators.list_workspaces(
        limit, before, status=query.get("status"), plan=query.get("plan"), query=query.get("query", "")
    )
    next_cursor = cursors.encode("admin.workspaces", caller.workspace_id, {"id": after} if after else None)
    return render(responses.WorkspacePage.of(found, next_cursor))


@route(admin, "/admin/api/workspaces/{workspace_id}", methods=["GET"])
def get_workspace(workspace_id: str) -> Response:
    _admin()
    return render(responses.WorkspaceDetailView.of(operators.workspace_detail(workspace_id)))


@route(admin, "/admin/api/workspaces/{workspace_id}/credits", methods=["POST"])
def adjust_credits(workspace_id: str) -> Response:
    caller = _admin()
    body = validate(schemas.CreditAdjust, json_body(admin.current_request))
    return idempotent(
        admin.current_request,
        caller.user_id,
        lambda: render(
            responses.CreditEntry.of(
                operators.adjust_credits(workspace_id, body.amount, reason=body.reason, actor=caller.user_id)
            ),
            201,
        ),
        admin.lambda_context,
    )


@route(admin, "/admin/api/workspaces/{workspace_id}/limits", methods=["PUT"])
def put_limits(workspace_id: str) -> Response:
    caller = _admin()
    body = validate(schemas.LimitsPut, json_body(admin.current_request))
    change = operators.set_limits(workspace_id, body.overrides(), actor=caller.user_id, reason=body.reason)
    return render(responses.LimitsChanged.of(change))


@route(admin, "/admin/api/workspaces/{workspace_id}/ban", methods=["POST"])
def ban_workspace(workspace_id: str) -> Response:
    caller = _admin()
    return render(
        responses.BanResult.of(operators.ban_workspace(workspace_id, True, actor=caller.user_id, reason=_ban_reason(True)))
    )


@route(admin, "/admin/api/workspaces/{workspace_id}/unban", methods=["POST"])
def unban_workspace(workspace_id: str) -> Response:
    caller = _admin()
    return render(
        responses.BanResult.of(operators.ban_workspace(workspace_id, False, actor=caller.user_id, reason=_ban_reason(False)))
    )


@route(admin, "/admin/api/users/{user_id}/ban", methods=["POST"])
def ban_user(user_id: str) -> Response:
    caller = _admin()
    return render(responses.BanResult.of(operators.ban_user(user_id, True, actor=caller.user_id, reason=_ban_reason(True))))


@route(admin, "/admin/api/users/{user_id}/unban", methods=["POST"])
def unban_user(user_id: str) -> Response:
    caller = _admin()
    return render(responses.BanResult.of(operators.ban_user(user_id, False, actor=caller.user_id, reason=_ban_reason(False))))


@route(admin, "/admin/api/scheduled/{name}/run", methods=["POST"])
def run_scheduled(name: str) -> Response:
    caller = _admin()
    raw = json_body(admin.current_request)
    reason = validate(schemas.OptionalReason, raw).reason if raw else None
    return render(responses.TaskRun.of(name, operators.run_task(name, actor=caller.user_id, reason=reason)))


@route(admin, "/admin/api/usage", methods=["GET"])
def platform_usage() -> Response:
    """Spend, cost and jobs from the daily rollups (never the ledger): a handful of queries."""
    _admin()
    query = _query()
    start, end = params.date_range(query)
    report = reports.usage(params.filters(query), start, end, query.get("group_by", "day"), query.get("status"))
    return render(responses.AdminUsage.of(report))


@route(admin, "/admin/api/jobs", methods=["GET"])
def admin_jobs() -> Response:
    caller, query = _admin(), _query()
    limit, (start, end), where = page_limit(query), params.date_range(query, default_days=1), params.filters(query)
    # The workspace and status filters pick the partition or index the position belongs to.
    scope = f"{caller.workspace_id}|{where.workspace_id or ''}|{query.get('status') or ''}"
    position = cursors.decode(query, "admin.jobs", scope)
    jobs, last = reports.find_jobs(where, query.get("status"), start, end, limit, position)
    return render(responses.AdminJobPage.of(jobs, cursors.encode("admin.jobs", scope, last)))


@route(admin, "/admin/api/denials", methods=["GET"])
def admin_denials() -> Response:
    """Refused admissions in a window (402/429/403 answers), newest first: the other half of 14:32."""
    _admin()
    query = _query()
    start, end = params.date_range(query, default_days=1)
    return render(responses.DenialList.of(reports.denials(params.filters(query), start, end, page_limit(query))))


@route(admin, "/admin/api/reports/usage.csv", methods=["GET"])
def usage_csv() -> Response:
    """Usage for the filtered range; `group_by=workspace_day_provider` is one row per workspace,
    day, provider and model."""
    _admin()
    query = _query()
    (start, end), group_by = params.date_range(query), query.get("group_by", "day")
    header, rows = reports.usage_table(params.filters(query), start, end, group_by, query.get("status"))
    return csv_files.csv_response(header, rows, f"usage-{group_by}-{start.date()}-{end.date()}.csv")


@route(admin, "/admin/api/reports/ledger.csv", methods=["GET"])
def ledger_csv() -> Response:
    """A workspace's ledger entries in the range, oldest first (a key-range query on its ledger)."""
    _admin()
    query = _query()
    start, end = params.date_range(query)
    where = params.filters(query)
    rows = reports.ledger_table(where, start, end)
    return csv_files.csv_response(reports.LEDGER_COLUMNS, rows, f"ledger-{where.workspace_id}-{start.date()}-{end.date()}.csv")


# --- library storage (issue 12) ------------------------------------------------------------------

if TYPE_CHECKING:
    import chalicelib.library.usage as library_usage
else:
    library_usage = lazy_module("chalicelib.library.usage")


@route(admin, "/admin/api/workspaces/{workspace_id}/storage", methods=["GET"])
def workspace_storage(workspace_id: str) -> Response:
    """The workspace's library: images kept and their bytes, uploads against the plan's storage,
    pending exports; from the counters the library keeps (two reads, never a scan)."""
    _admin()
    _query()
    return render(responses.WorkspaceStorageEnvelope.of(library_usage.workspace_storage(workspace_id)))
