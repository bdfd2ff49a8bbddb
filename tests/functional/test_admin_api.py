"""The admin API behind the dashboard: who may call it, what it refuses, what it audits, what it reads."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock
from tests.functional.helpers import call

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _csv(api, path: str, tenant) -> tuple[int, dict[str, str], list[list[str]]]:
    response = api.http.get(path, headers=tenant.auth)
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    return response.status_code, dict(response.headers), list(csv.reader(io.StringIO(text)))


def test_every_admin_endpoint_refuses_non_admins_and_anonymous(api, make_tenant):
    t = make_tenant()
    u = t.user_id
    endpoints = [
        ("POST", "/admin/api/workspaces", {"name": "x", "owner_email": "a@b.co", "plan": "pro"}),
        ("GET", "/admin/api/workspaces", None),
        ("GET", f"/admin/api/workspaces/{t.workspace_id}", None),
        ("POST", f"/admin/api/workspaces/{t.workspace_id}/credits", {"amount": 5, "reason": "x"}),
        ("PUT", f"/admin/api/workspaces/{t.workspace_id}/limits", {"requests_per_minute": 1}),
        ("POST", f"/admin/api/workspaces/{t.workspace_id}/ban", {"reason": "x"}),
        ("POST", f"/admin/api/workspaces/{t.workspace_id}/unban", {"reason": "x"}),
        ("POST", f"/admin/api/users/{u}/ban", {"reason": "x"}),
        ("POST", f"/admin/api/users/{u}/unban", {"reason": "x"}),
        ("POST", "/admin/api/scheduled/reconcile/run", None),
        ("GET", "/admin/api/usage", None),
        ("GET", "/admin/api/jobs", None),
        ("GET", "/admin/api/denials", None),
        ("GET", "/admin/api/meta", None),
        ("GET", "/admin/api/reports/usage.csv", None),
        ("GET", f"/admin/api/reports/ledger.csv?workspace_id={t.workspace_id}", None),
        ("PUT", f"/admin/api/workspaces/{t.workspace_id}/billing", {"provider": "stripe"}),
    ]
    for method, path, body in endpoints:
        status, err, _ = call(api, method, path, t, body)
        assert status == 403 and err["error"]["code"] == "forbidden", path
        status, err, _ = call(api, method, path, None, body)
        assert status == 401 and err["error"]["code"] == "unauthenticated", path
    # Nothing changed for the tenant.
    status, me, _ = call(api, "GET", "/v1/balance", t)
    assert status == 200 and me["purchased"] == 0


@pytest.mark.parametrize(
    "method,suffix,body,field",
    [
        ("POST", "credits", {"amount": 1.5, "reason": "x"}, "amount"),
        ("POST", "credits", {"amount": True, "reason": "x"}, "amount"),
        ("POST", "credits", {"amount": None, "reason": "x"}, "amount"),
        ("POST", "credits", {"amount": 5, "reason": 7}, "reason"),
        ("POST", "credits", {"amount": 5, "reason": "x" * 501}, "reason"),
        ("POST", "credits", {"amount": 5, "reason": "x", "actor": "me"}, "actor"),
        ("PUT", "limits", {"requests_per_minute": -1}, "requests_per_minute"),
        ("PUT", "limits", {"requests_per_minute": "9"}, "requests_per_minute"),
        ("PUT", "limits", {"tokens_per_day": 10**13}, "tokens_per_day"),
        ("PUT", "limits", {"max_concurrent_jobs": 2.0}, "max_concurrent_jobs"),
        ("PUT", "limits", {"providers": "local"}, "providers"),
        ("PUT", "limits", {"reason": ["x"]}, "reason"),
        ("POST", "ban", {}, "reason"),
        ("POST", "ban", {"reason": ""}, "reason"),
        ("POST", "ban", {"reason": 1}, "reason"),
        ("POST", "unban", {"reason": 1}, "reason"),
    ],
)
def test_bad_action_bodies_are_400_and_change_nothing(api, make_tenant, admin, method, suffix, body, field):
    t = make_tenant()
    before = call(api, "GET", f"/admin/api/workspaces/{t.workspace_id}", admin)[1]
    status, err, _ = call(api, method, f"/admin/api/workspaces/{t.workspace_id}/{suffix}", admin, body)
    assert status == 400 and err["error"]["code"] == "invalid_request" and err["error"]["field"] == field, err
    after = call(api, "GET", f"/admin/api/workspaces/{t.workspace_id}", admin)[1]
    assert after["balance"] == before["balance"] and after["limits"] == before["limits"]
    assert after["workspace"]["status"] == "active" and after["audit"] == before["audit"]


@pytest.mark.parametrize(
    "query",
    [
        "group_by=week",
        "provider=dalle",
        "user_id=usr_x",
        "from=2026-13-01",
        "from=2026-11-20&to=2026-11-01",
        "from=2024-01-01&to=2026-01-01",
        "workspace_id=%27%3Bdrop",
        "status=queued",
        "workspace_id=" + "w" * 101,
    ],
)
def test_bad_usage_queries_are_400(api, admin, query):
    status, err, _ = call(api, "GET", f"/admin/api/usage?{query}", admin)
    assert status == 400 and err["error"]["code"] == "invalid_request", query


def test_bad_report_and_window_queries_are_400(api, admin, make_tenant):
    t = make_tenant()
    for path in (
        "/admin/api/reports/usage.csv?group_by=hour",
        "/admin/api/reports/ledger.csv",
        "/admin/api/reports/ledger.csv?workspace_id=ws_missing&from=x",
        "/admin/api/reports/usage.csv?group_by=workspace_day_provider&workspace_id=w&user_id=u",
        "/admin/api/jobs?status=exploded",
        "/admin/api/jobs?provider=nope",
        "/admin/api/denials?from=nope",
        f"/admin/api/usage?workspace_id={t.workspace_id}&user_id={t.user_id}&group_by=provider",
    ):
        status, err, _ = call(api, "GET", path, admin)
        assert status == 400 and err["error"]["code"] == "invalid_request", path
    assert call(api, "GET", "/admin/api/reports/ledger.csv?workspace_id=ws_missing", admin)[0] == 404


def test_every_action_is_audited_with_actor_before_after_and_reason(api, make_tenant, admin):
    t = make_tenant()
    ws = f"/admin/api/workspaces/{t.workspace_id}"
    available = call(api, "GET", ws, admin)[1]["balance"]["available"]
    assert call(api, "POST", f"{ws}/credits", admin, {"amount": 500, "reason": "goodwill for outage"})[0] == 201
    assert call(api, "POST", f"{ws}/credits", admin, {"amount": -200, "reason": "refund reversal"})[0] == 201
    status, limits, _ = call(api, "PUT", f"{ws}/limits", admin, {"requests_per_minute": 5, "reason": "throttle"})
    assert status == 200 and limits["limits"]["requests_per_minute"] == 5
    assert limits["limits"]["requests_per_minute_user"] == 5 and limits["limits"]["requests_per_minute_key"] == 5
    assert call(api, "POST", f"{ws}/ban", admin, {"reason": "chargeback fraud"})[0] == 200
    assert call(api, "POST", f"{ws}/unban", admin, {"reason": "cleared by support"})[0] == 200
    assert call(api, "POST", f"/admin/api/users/{t.user_id}/ban", admin, {"reason": "abuse"})[0] == 200
    assert call(api, "POST", f"/admin/api/users/{t.user_id}/unban", admin, {"reason": "appeal"})[0] == 200

    detail = call(api, "GET", ws, admin)[1]
    assert detail["balance"]["available"] == available + 300
    audit = {a["action"] + ":" + (a["reason"] or ""): a for a in detail["audit"]}
    for key in (
        "workspace.limits:throttle",
        "workspace.ban:chargeback fraud",
        "workspace.unban:cleared by support",
        "user.ban:abuse",
        "user.unban:appeal",
    ):
        assert audit[key]["actor"] == admin.user_id and audit[key]["after"] is not None, key
        assert audit[key]["before"] is not None, key
    assert audit["workspace.ban:chargeback fraud"]["before"] == {"status": "active"}
    assert audit["workspace.ban:chargeback fraud"]["after"]["status"] == "banned"
    credit_audits = [a for a in detail["audit"] if a["action"].startswith("credits")]
    assert {a["reason"] for a in credit_audits} == {"goodwill for outage", "refund reversal"}
    assert all(a["actor"] == admin.user_id and a["before"] is not None and a["after"] is not None for a in credit_audits)
    entries = [e for e in detail["ledger"] if e["type"] == "adjust"]
    assert sorted(e["amount"] for e in entries) == [-200, 500]

    status, ran, _ = call(api, "POST", "/admin/api/scheduled/release_stale_holds/run", admin, {"reason": "stuck holds"})
    assert status == 200 and ran["name"] == "release_stale_holds"
    from chalicelib.store.models import AuditModel

    runs = [
        a
        for a in AuditModel.query("platform", scan_index_forward=False, limit=20)
        if a.action == "scheduled.release_stale_holds" and a.reason == "stuck holds"
    ]
    assert runs and runs[0].actor == admin.user_id and runs[0].after["result"] == ran["result"]


def test_ledger_csv_is_the_workspace_ledger_and_defuses_formulas(api, admin, make_tenant, frozen_clock):
    t = make_tenant()
    ws = f"/admin/api/workspaces/{t.workspace_id}"
    call(api, "POST", f"{ws}/credits", admin, {"amount": 40, "reason": '=HYPERLINK("http://evil")'})
    call(api, "POST", f"{ws}/credits", admin, {"amount": -15, "reason": 'plain, with "quotes"'})
    status, headers, rows = _csv(api, f"/admin/api/reports/ledger.csv?workspace_id={t.workspace_id}", admin)
    assert status == 200 and headers["Content-Disposition"].startswith(f'attachment; filename="ledger-{t.workspace_id}-')
    header, body = rows[0], rows[1:]
    assert header[:5] == ["created_at", "entry_id", "type", "amount", "held_delta"]
    reasons = {r[header.index("reason")]: int(r[header.index("amount")]) for r in body if r[2] == "adjust"}
    assert reasons == {'\'=HYPERLINK("http://evil")': 40, 'plain, with "quotes"': -15}
    # Oldest first, and a range that ends before them is empty.
    assert [r[1] for r in body] == sorted(r[1] for r in body)
    yesterday = (clock.now() - timedelta(days=2)).date().isoformat()
    assert _csv(api, f"/admin/api/reports/ledger.csv?workspace_id={t.workspace_id}&to={yesterday}", admin)[2][1:] == []


FORMULAS = [" =1+1", "\n=cmd|' /C calc'!A0", "\t=x", "\r=x", "  @SUM(1)", "\u3000+x", "-2+3", "+x", " \n -x"]


def test_csv_defuses_formulas_after_leading_blanks(api, admin, make_tenant):
    """OWASP: a cell whose first non-blank character is = + - @, or that starts with tab/CR/LF."""
    t = make_tenant()
    ws = f"/admin/api/workspaces/{t.workspace_id}"
    for i, reason in enumerate([*FORMULAS, "safe text", "a=b"]):
        assert call(api, "POST", f"{ws}/credits", admin, {"amount": i + 1, "reason": reason})[0] == 201
    status, _, rows = _csv(api, f"/admin/api/reports/ledger.csv?workspace_id={t.workspace_id}", admin)
    header, body = rows[0], rows[1:]
    reasons = {int(r[header.index("amount")]): r[header.index("reason")] for r in body if r[2] == "adjust"}
    for i, reason in enumerate(FORMULAS):
        assert reasons[i + 1] == "'" + reason, reason
    assert reasons[len(FORMULAS) + 1] == "safe text" and reasons[len(FORMULAS) + 2] == "a=b"
    assert all(not r[header.index("amount")].startswith("'") for r in body)  # numbers stay numbers


def test_the_admin_page_cannot_be_framed_and_loads_only_its_own_assets(api):
    response = api.http.get("/admin")
    csp = {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split("; ")}
    assert csp["frame-ancestors"] == ["'none'"] and csp["default-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]  # no http:/https: images from anywhere
    assert csp["form-action"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_sign_in_form_never_puts_the_key_in_a_url(api):
    """Without JavaScript the form still posts (never GET) and the key field has no name, so
    nothing of it is sent at all; the POST lands on a harmless redirect back to the page."""
    import re

    html = api.http.get("/admin").body.decode()
    form = re.search(r"<form id=\"sign-in-form\"[^>]*>", html).group(0)
    assert 'method="post"' in form and 'action="/admin"' in form
    key_input = re.search(r"<input id=\"admin-key\"[^>]*>", html).group(0)
    assert "name=" not in key_input
    response = api.http.post("/admin", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    assert response.status_code == 303 and response.headers["Location"] == "/admin"


def test_the_admin_view_shows_the_same_balance_as_the_tenant_auto_topup_included(api, make_tenant, admin):
    """One function answers both: the admin's workspace view once read a billing field nothing
    wrote, so its auto top-up was always null while /v1/balance showed the real settings."""
    t = make_tenant()
    settings = {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 2000}
    assert call(api, "PUT", "/v1/billing/auto-topup", t, settings)[0] == 200
    status, own, _ = call(api, "GET", "/v1/balance", t)
    assert status == 200 and own["auto_topup"]["enabled"] is True and own["auto_topup"]["amount"] == 500
    status, detail, _ = call(api, "GET", f"/admin/api/workspaces/{t.workspace_id}", admin)
    assert status == 200 and detail["balance"] == own


@pytest.mark.parametrize("workspace_id", ["0", "ws_missing", "ws_01KDVEKSJRM9Y39NJ6J6WEGEDK", "%C3%92"])
def test_unknown_workspaces_are_404_on_every_admin_route_never_500(api, admin, workspace_id):
    ws = f"/admin/api/workspaces/{workspace_id}"
    for method, path, body in [
        ("GET", ws, None),
        ("POST", f"{ws}/credits", {"amount": 5, "reason": "x"}),
        ("PUT", f"{ws}/limits", {"tokens_per_day": 5}),
        ("POST", f"{ws}/ban", {"reason": "x"}),
        ("POST", f"{ws}/unban", {"reason": "x"}),
        ("PUT", f"{ws}/billing", {"provider": "stripe", "reason": "x"}),
        ("POST", f"/admin/api/users/{workspace_id}/ban", {"reason": "x"}),
    ]:
        status, err, _ = call(api, method, path, admin, body)
        assert status == 404 and err["error"]["code"] == "not_found", (method, path, err)
