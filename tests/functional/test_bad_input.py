"""Bad input of every kind gets a clear 4xx in the error envelope, never a 500, and changes nothing."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib.accounting.ledger import get_wallet
from tests.functional.helpers import app_client, call, purge, receive

BAD_JOB_BODIES = [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": "x" * 4001}, "prompt"),
    ({"prompt": 42}, "prompt"),
    ({"prompt": None}, "prompt"),
    ({"prompt": ["a"]}, "prompt"),
    ({"prompt": "ok", "n": 0}, "n"),
    ({"prompt": "ok", "n": 5}, "n"),
    ({"prompt": "ok", "n": "4"}, "n"),
    ({"prompt": "ok", "n": 2.5}, "n"),
    ({"prompt": "ok", "n": True}, "n"),
    ({"prompt": "ok", "kind": "paint"}, "kind"),
    ({"prompt": "ok", "provider": "midjourney"}, "provider"),
    ({"prompt": "ok", "size": "999x999"}, "size"),
    ({"prompt": "ok", "strength": "medium"}, "strength"),
    ({"prompt": "ok", "seed": -1}, "seed"),
    ({"prompt": "ok", "unknown_field": 1}, "unknown_field"),
    ({"prompt": "ok", "model": "no-such-model"}, "model"),
    ({"prompt": "ok", "kind": "vary"}, "source_image_id"),
    ({"prompt": "ok", "kind": "vary", "source_image_id": "not-an-image"}, "source_image_id"),
    ({"prompt": "ok", "variables": {"a": 1}}, "variables.a"),
]


@pytest.mark.parametrize(("body", "field"), BAD_JOB_BODIES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_JOB_BODIES)])
def test_bad_job_bodies_are_400_with_field_and_change_nothing(api, make_tenant, body, field):
    purge()
    t = make_tenant()
    before = get_wallet(t.workspace_id)
    status, err, headers = call(api, "POST", "/v1/jobs", t, body)
    assert status == 400, err
    assert err["error"]["code"] == "invalid_request" and err["error"]["field"] == field
    assert err["error"]["request_id"] == headers["X-Request-Id"]
    after = get_wallet(t.workspace_id)
    assert (after.available, after.held) == (before.available, before.held)
    assert receive() == []


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"a string"', "null", "\udcff", '{"prompt": "a"', "42"])
def test_malformed_json_is_400(api, make_tenant, raw):
    t = make_tenant()
    status, err, _ = call(api, "POST", "/v1/jobs", t, raw=raw.encode("utf-8", "surrogatepass"))
    assert status == 400 and err["error"]["code"] == "invalid_request"


def test_huge_body_is_413(api, make_tenant):
    t = make_tenant()
    status, err, _ = call(api, "POST", "/v1/jobs", t, raw=b'{"prompt": "' + b"x" * (1024 * 1024 + 10) + b'"}')
    assert status == 413 and err["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer sk_test_nope", "Basic abc", "Bearer " + "sk_" + "x" * 300, "bearer\tsk_test_x"]
)
def test_missing_or_unknown_key_is_401(api, aws, header):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    response = api.http.post("/v1/jobs", headers=headers, body='{"prompt": "x"}')
    assert response.status_code == 401
    assert b'"unauthenticated"' in response.body


def test_revoked_key_is_401_and_list_shows_keys(api, make_tenant):
    t = make_tenant()
    status, made, _ = call(api, "POST", "/v1/keys", t, {"name": "ci"})
    assert status == 201 and made["secret"].startswith("sk_test_") and made["key"]["prefix"] == made["secret"][:12]
    second = type(t)(t.workspace_id, t.user_id, made["key"]["id"], made["secret"])
    assert call(api, "GET", "/v1/me", second)[0] == 200
    status, listing, _ = call(api, "GET", "/v1/keys", t)
    assert {k["id"] for k in listing["data"]} >= {made["key"]["id"], t.key_id}
    assert all("secret" not in k for k in listing["data"])
    status, _, headers = call(api, "DELETE", f"/v1/keys/{made['key']['id']}", t)
    assert status == 204 and "X-Request-Id" in headers
    status, err, _ = call(api, "GET", "/v1/me", second)
    assert status == 401 and err["error"]["code"] == "unauthenticated"
    assert call(api, "DELETE", "/v1/keys/key_nope", t)[0] == 404


def test_key_bodies_are_validated(api, make_tenant):
    t = make_tenant()
    for body in ({}, {"name": ""}, {"name": 3}, {"name": "x" * 101}, {"name": "ok", "extra": 1}):
        status, err, _ = call(api, "POST", "/v1/keys", t, body)
        assert status == 400 and err["error"]["code"] == "invalid_request", body


def test_me_profile_and_settings(api, make_tenant):
    t = make_tenant()
    status, me, _ = call(api, "GET", "/v1/me", t)
    assert status == 200 and me["user"]["id"] == t.user_id and me["workspace"]["id"] == t.workspace_id
    assert me["role"] == "owner"
    patch = {
        "display_name": "Ada",
        "settings": {"default_provider": "local", "default_size": "512x512", "default_n": 2, "notifications": {"email": False}},
    }
    status, me, _ = call(api, "PATCH", "/v1/me", t, patch)
    assert status == 200 and me["user"]["display_name"] == "Ada"
    assert me["user"]["settings"]["default_n"] == 2 and me["user"]["settings"]["notifications"]["email"] is False
    # Defaults apply to new jobs.
    purge()
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "defaults"})
    assert body["job"]["n"] == 2 and body["job"]["size"] == "512x512"
    purge()
    for bad in (
        {"display_name": ""},
        {"settings": {"default_n": 9}},
        {"settings": {"default_provider": "x"}},
        {"settings": {"notifications": {"email": "no"}}},
        {"role": "admin"},
        {"display_name": 5},
    ):
        status, err, _ = call(api, "PATCH", "/v1/me", t, bad)
        assert status == 400 and err["error"]["code"] == "invalid_request", bad


def test_admin_endpoints_refuse_non_admins_and_bad_input(api, make_tenant, admin):
    t = make_tenant()
    for method, path, body in [
        ("POST", "/admin/api/workspaces", {"name": "x", "owner_email": "a@b.co", "plan": "pro"}),
        ("GET", "/admin/api/workspaces", None),
        ("GET", f"/admin/api/workspaces/{t.workspace_id}", None),
        ("PUT", f"/admin/api/workspaces/{t.workspace_id}/limits", {"requests_per_minute_user": 1}),
        ("POST", f"/admin/api/workspaces/{t.workspace_id}/ban", {"reason": "x"}),
        ("POST", "/admin/api/scheduled/reconcile/run", None),
        ("GET", "/admin/api/usage", None),
    ]:
        status, err, _ = call(api, method, path, t, body)
        assert status == 403 and err["error"]["code"] == "forbidden", path
    for body in (
        {"name": "x", "owner_email": "nope", "plan": "pro"},
        {"name": "x", "owner_email": "a@b.co", "plan": "gold"},
        {"name": "", "owner_email": "a@b.co"},
        {"owner_email": "a@b.co"},
    ):
        status, err, _ = call(api, "POST", "/admin/api/workspaces", admin, body)
        assert status == 400, body
    for body in (
        {"amount": 0, "reason": "x"},
        {"amount": "5", "reason": "x"},
        {"amount": 5},
        {"amount": 5, "reason": ""},
        {"amount": 10**12, "reason": "x"},
    ):
        status, err, _ = call(api, "POST", f"/admin/api/workspaces/{t.workspace_id}/credits", admin, body)
        assert status == 400, body
    assert call(api, "GET", "/admin/api/workspaces/ws_missing", admin)[0] == 404
    assert call(api, "POST", "/admin/api/scheduled/nope/run", admin)[0] == 404
    assert call(api, "GET", "/admin/api/usage?group_by=weird", admin)[0] == 400
    assert call(api, "GET", "/admin/api/usage?from=yesterday", admin)[0] == 400


def test_list_params_are_validated(api, make_tenant):
    t = make_tenant()
    for query in ("limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=eyJ4IjoxfQ"):
        status, err, _ = call(api, "GET", f"/v1/jobs?{query}", t)
        assert status == 400 and err["error"]["code"] == "invalid_request", query
    assert call(api, "GET", "/v1/usage?group_by=hour", t)[0] == 400
    assert call(api, "GET", "/v1/ledger?limit=1000", t)[0] == 400


def test_unknown_route_and_method_use_the_envelope(api, make_tenant):
    t = make_tenant()
    response = api.http.request("DELETE", "/v1/jobs", headers=t.auth)
    assert response.status_code in (403, 404, 405)
    assert b'"error"' in response.body


def test_healthz_without_database(api):
    status, body, headers = call(api, "GET", "/healthz")
    assert status == 200 and body["status"] == "ok" and body["version"]
    assert headers["X-Request-Id"]
    status, _, headers = call(api, "GET", "/healthz", headers={"X-Request-Id": "abc-123"})
    assert headers["X-Request-Id"] == "abc-123"


# --- The bad-input matrix: cursors, dates, nesting, bodies, headers --------------------------------
# Each case asserts the status, the envelope's code (and field), that `request_id` is the answer's
# X-Request-Id, and that no table changed (a snapshot of every table before and after). The matrix
# runs on its own tables, so the snapshots stay small.

TIME_ROUTES = [
    "/v1/usage?",
    "/admin/api/usage?",
    "/admin/api/jobs?workspace_id={ws}&",
    "/admin/api/denials?",
    "/admin/api/reports/usage.csv?",
    "/admin/api/reports/ledger.csv?workspace_id={ws}&",
]
BAD_TIMES = [
    "0001-01-01",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "1969-12-31",
    "1970-01-01T00:00:00Z",
    "0999-06-01",
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:30:00+01:00",
    "2101-01-01",
    "9999-12-31",
    "yesterday",
    "2026-02-30",
    "2026-11-24T25:00:00Z",
    "-2026-11-24",
    "2026-11-24" + "0" * 60,
]
JSON_ROUTES = [
    ("POST", "/v1/jobs"),
    ("PATCH", "/v1/me"),
    ("POST", "/v1/keys"),
    ("POST", "/v1/jobs/{job}/cancel"),
    ("POST", "/v1/billing/checkout"),
    ("PUT", "/v1/billing/auto-topup"),
    ("POST", "/webhooks/stripe"),
    ("POST", "/admin/api/workspaces"),
    ("POST", "/admin/api/workspaces/{ws}/credits"),
    ("PUT", "/admin/api/workspaces/{ws}/limits"),
    ("POST", "/admin/api/workspaces/{ws}/ban"),
    ("POST", "/admin/api/workspaces/{ws}/unban"),
    ("POST", "/admin/api/users/{usr}/ban"),
    ("POST", "/admin/api/users/{usr}/unban"),
    ("POST", "/admin/api/scheduled/reconcile/run"),
    ("PUT", "/admin/api/workspaces/{ws}/billing"),
]
BODY_ROUTES = [r for r in JSON_ROUTES if r[1] != "/webhooks/stripe"]  # the webhook parses its own (signed) body
DEEP_BODIES = {
    "array-100k": "[" * 100_000 + "]" * 100_000,
    "object-100k": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "unclosed-100k": "[" * 100_000,
    "array-65": "[" * 65 + "]" * 65,
    "in-field-65": '{"prompt":"x","variables":' + '{"a":' * 64 + '"b"' + "}" * 64 + "}",
}
WHITESPACE_BODIES = {"space": " ", "newline": "\n", "mixed": " \t\r\n ", "crlf": "\r\n"}


@pytest.fixture(scope="module")
def world(aws, moto_server):
    """Own tables; tenants A and B with jobs and ledger entries; an admin; valid cursors of each listing."""
    import os

    from chalicelib.tenancy import create_workspace
    from tests.conftest import Tenant, use_tables

    use_tables(moto_server, f"t{os.getpid()}-badinput")

    def tenant(is_admin: bool = False):
        made = create_workspace("Matrix", f"m{os.urandom(4).hex()}@example.test", "enterprise", is_admin=is_admin)
        return Tenant(made.workspace.workspace_id, made.owner.user_id, made.key.key_id, made.secret)

    with app_client() as api:
        a, b, admin = tenant(), tenant(), tenant(is_admin=True)
        for t in (a, b):
            for i in range(3):
                status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": f"matrix {i}"})
                assert status == 202, body
            t.job = body["job"]["id"]
        purge()
        cursors = {
            "jobs_a": call(api, "GET", "/v1/jobs?limit=1", a)[1]["next_cursor"],
            "jobs_b": call(api, "GET", "/v1/jobs?limit=1", b)[1]["next_cursor"],
            "ledger_a": call(api, "GET", "/v1/ledger?limit=1", a)[1]["next_cursor"],
            "ledger_b": call(api, "GET", "/v1/ledger?limit=1", b)[1]["next_cursor"],
            "admin_jobs": call(api, "GET", f"/admin/api/jobs?workspace_id={a.workspace_id}&limit=1", admin)[1]["next_cursor"],
            "admin_workspaces": call(api, "GET", "/admin/api/workspaces?limit=1", admin)[1]["next_cursor"],
        }
        assert all(cursors.values()), cursors
        yield {"api": api, "a": a, "b": b, "admin": admin, "cursors": cursors}
    use_tables(moto_server, f"t{os.getpid()}-shared")


def _state() -> dict[str, list[str]]:
    """Every table, minus keys' `last_used_at` (authentication records a key's use once a minute)."""
    import json
    import re

    from tests.functional.tables import snapshot

    strip = re.compile(r'"last_used_at": \{[^}]*\}, ')
    return {
        table: sorted(strip.sub("", json.dumps(json.loads(item), sort_keys=True)) for item in items)
        for table, items in snapshot().items()
    }


@contextmanager
def unchanged(world, *tenants):
    """No table may change inside the block (the tenants' key use is recorded before)."""
    for tenant in filter(None, tenants):
        call(world["api"], "GET", "/v1/me", tenant)
    before = _state()
    yield
    assert _state() == before, "a refused request changed a table"


def _expect(
    world,
    method: str,
    path: str,
    tenant,
    *,
    status: int = 400,
    code: str = "invalid_request",
    field: str | None = None,
    raw: str | bytes | None = None,
    headers: dict[str, str] | None = None,
):
    """One call answered `status` with the envelope's `code` (and `field`) and its X-Request-Id."""
    got, err, answer = call(world["api"], method, path, tenant, raw=raw, headers=headers)
    assert got == status, (method, path, err)
    assert err["error"]["code"] == code, err
    assert err["error"]["request_id"] == answer["X-Request-Id"]
    if field is not None:
        assert err["error"].get("field") == field, err
    return err


def _refused(world, method: str, path: str, tenant, **expected: Any):
    """One refused call that changes nothing."""
    with unchanged(world, tenant):
        return _expect(world, method, path, tenant, **expected)


def _fill(path: str, world) -> str:
    a = world["a"]
    return path.format(ws=a.workspace_id, usr=a.user_id, job=a.job)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# For each listing: its own cursor (tampered below), one of the same listing for another tenant,
# and one of another listing.
CURSOR_SOURCES = {
    "/v1/jobs?limit=1": ("jobs_a", "jobs_b", "ledger_a"),
    "/v1/ledger?limit=1": ("ledger_a", "ledger_b", "jobs_a"),
    "/admin/api/jobs?workspace_id={ws}&limit=1": ("admin_jobs", "jobs_a", "admin_workspaces"),
    "/admin/api/workspaces?limit=1": ("admin_workspaces", "ledger_a", "admin_jobs"),
}


def _bad_cursors(world, route: str) -> dict[str, str]:
    import base64
    import json

    own, other_tenant, other_listing = (world["cursors"][name] for name in CURSOR_SOURCES[route])
    payload, mac = own.split(".")
    position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    moved = {key: {"S": "x_00000000000000000000000000"} for key in position} if "id" not in position else {"id": "ws_0"}
    return {
        "unsigned-old-format": payload,
        "random-mac": f"{payload}.{_b64(b'0' * 32)}",
        "tampered-payload": f"{_b64(json.dumps(moved).encode())}.{mac}",
        "other-tenant": other_tenant,
        "other-listing": other_listing,
        "truncated": own[:-4],
        "mac-only": f".{mac}",
        "wrong-types": f"{_b64(json.dumps({'workspace_id': {'S': 5}, 'job_id': []}).encode())}.{mac}",
        "array": f"{_b64(b'[1,2]')}.{mac}",
        "not-base64": "%25%25%25.%25",
        "dots": "a.b.c",
        "unicode": "%C3%A9.%C3%A9",
        "huge": "A" * 3000 + "." + mac,
    }


CURSOR_KINDS = [
    "unsigned-old-format",
    "random-mac",
    "tampered-payload",
    "other-tenant",
    "other-listing",
    "truncated",
    "mac-only",
    "wrong-types",
    "array",
    "not-base64",
    "dots",
    "unicode",
    "huge",
]
CURSOR_ROUTES = list(CURSOR_SOURCES)


@pytest.mark.parametrize("kind", CURSOR_KINDS)
def test_bad_cursors_are_400_on_every_listing(world, kind):
    from urllib.parse import quote

    with unchanged(world, world["a"], world["admin"]):
        for route in CURSOR_ROUTES:
            cursor = _bad_cursors(world, route)[kind]
            encoded = cursor if kind in ("not-base64", "unicode") else quote(cursor, safe="")  # those come encoded
            tenant = world["admin"] if route.startswith("/admin") else world["a"]
            _expect(world, "GET", f"{_fill(route, world)}&cursor={encoded}", tenant, field="cursor")


def test_a_cursor_is_bound_to_its_listing_scope(world):
    """Valid for one listing and scope, refused by every other: other kinds, tenants and filters."""
    c, a, b, admin = world["cursors"], world["a"], world["b"], world["admin"]
    _refused(world, "GET", f"/v1/ledger?cursor={c['jobs_a']}", a, field="cursor")
    _refused(world, "GET", f"/v1/jobs?cursor={c['jobs_a']}", b, field="cursor")
    _refused(world, "GET", f"/admin/api/jobs?workspace_id={b.workspace_id}&cursor={c['admin_jobs']}", admin, field="cursor")
    _refused(
        world,
        "GET",
        f"/admin/api/jobs?workspace_id={a.workspace_id}&status=queued&cursor={c['admin_jobs']}",
        admin,
        field="cursor",
    )
    _refused(world, "GET", f"/admin/api/jobs?workspace_id={a.workspace_id}&cursor={c['admin_workspaces']}", admin, field="cursor")


def test_following_cursors_pages_through_everything_once(world):
    api, a = world["api"], world["a"]
    seen, cursor = [], None
    for _ in range(10):
        status, page, _ = call(api, "GET", "/v1/jobs?limit=1" + (f"&cursor={cursor}" if cursor else ""), a)
        assert status == 200
        seen += [j["id"] for j in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 3 == len(set(seen)) and seen == sorted(seen, reverse=True)
    entries, cursor = [], None
    for _ in range(20):
        status, page, _ = call(api, "GET", "/v1/ledger?limit=2" + (f"&cursor={cursor}" if cursor else ""), a)
        entries += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(entries) == len(set(entries)) >= 4  # the grant and three holds


def test_a_cursor_does_not_verify_under_another_secret(world, monkeypatch):
    from chalicelib.api import cursors

    monkeypatch.setenv("CURSOR_SECRET", "another-secret-for-this-test")
    cursors.reset()
    try:
        _refused(world, "GET", f"/v1/jobs?cursor={world['cursors']['jobs_a']}", world["a"], field="cursor")
    finally:
        monkeypatch.delenv("CURSOR_SECRET")
        cursors.reset()


@pytest.mark.parametrize("value", BAD_TIMES)
def test_times_outside_the_range_or_malformed_are_400_naming_the_field(world, value):
    from urllib.parse import quote

    with unchanged(world, world["a"], world["admin"]):
        for route in TIME_ROUTES:
            tenant = world["a"] if route.startswith("/v1") else world["admin"]
            for name in ("from", "to"):
                _expect(world, "GET", f"{_fill(route, world)}{name}={quote(value)}", tenant, field=name)


@pytest.mark.parametrize("route", TIME_ROUTES)
@pytest.mark.parametrize(
    "span",
    [
        ("2000-01-01", "2000-12-31T23:59:59Z"),
        ("2100-01-01T00:00:00%2B00:00", "2100-12-31"),
        ("2100-02-01", "2100-12-31T23:59:59Z"),
    ],
)
def test_the_edges_of_the_time_range_are_accepted(world, route, span):
    tenant = world["a"] if route.startswith("/v1") else world["admin"]
    status, body, _ = call(world["api"], "GET", f"{_fill(route, world)}from={span[0]}&to={span[1]}", tenant)
    assert status == 200, body


@pytest.mark.parametrize("shape", list(DEEP_BODIES))
def test_deeply_nested_json_is_400_on_every_json_route(world, shape):
    with unchanged(world, world["a"], world["admin"]):
        for method, route in JSON_ROUTES:
            tenant = world["admin"] if route.startswith("/admin") else world["a"]
            err = _expect(world, method, _fill(route, world), tenant, raw=DEEP_BODIES[shape])
            assert "nests deeper than 64" in err["error"]["message"]


def test_json_nested_64_deep_is_parsed_and_validated_as_usual(world):
    body = '{"prompt":"x","variables":' + '{"a":' * 62 + '"b"' + "}" * 62 + "}"
    err = _refused(world, "POST", "/v1/jobs", world["a"], raw=body, field="variables.a")
    assert "nests" not in err["error"]["message"]


def test_oversize_bodies_are_413_on_every_json_route(world):
    raw = '{"prompt": "' + "x" * (1024 * 1024) + '"}'
    with unchanged(world, world["a"], world["admin"]):
        for method, route in JSON_ROUTES:
            tenant = world["admin"] if route.startswith("/admin") else world["a"]
            _expect(world, method, _fill(route, world), tenant, raw=raw, status=413, code="payload_too_large")


@pytest.mark.parametrize("shape", list(WHITESPACE_BODIES))
def test_a_whitespace_body_is_not_an_empty_object(world, shape):
    with unchanged(world, world["a"], world["admin"]):
        for method, route in BODY_ROUTES:
            tenant = world["admin"] if route.startswith("/admin") else world["a"]
            err = _expect(world, method, _fill(route, world), tenant, raw=WHITESPACE_BODIES[shape])
            assert err["error"]["message"] == "the body is not valid JSON"


def test_optional_bodies_may_still_be_absent(world):
    """unban and scheduled runs take an optional body: absent (or empty) is fine, as before."""
    api, a, admin = world["api"], world["a"], world["admin"]
    response = api.http.post(f"/admin/api/workspaces/{a.workspace_id}/unban", headers=admin.auth)
    assert response.status_code == 200, response.body
    response = api.http.post(f"/admin/api/users/{a.user_id}/unban", headers=admin.auth, body=b"")
    assert response.status_code == 200, response.body
    response = api.http.post("/admin/api/scheduled/reconcile/run", headers=admin.auth)
    assert response.status_code == 200, response.body


def test_known_path_with_another_method_is_405_with_allow_in_the_envelope(world):
    for method, path, allow in (
        ("DELETE", "/v1/jobs", {"GET", "POST"}),
        ("PUT", "/healthz", {"GET"}),
        ("GET", "/v1/keys/key_x", {"DELETE"}),
        ("POST", "/v1/me", {"GET", "PATCH"}),
    ):
        response = world["api"].http.request(method, path, headers=world["a"].auth)
        err = __import__("json").loads(response.body)
        assert response.status_code == 405 and err["error"]["code"] == "method_not_allowed", path
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allow
        assert err["error"]["request_id"] == response.headers["X-Request-Id"]


def test_chalice_errors_never_echo_a_header(world):
    response = world["api"].http.post(
        "/v1/jobs", headers={**world["a"].auth, "Content-Type": "text/x-secret-sauce"}, body=b'{"prompt": "x"}'
    )
    assert response.status_code == 415 and b"secret-sauce" not in response.body
    assert b'"invalid_request"' in response.body


@pytest.mark.parametrize("given", ["x" * 60_000, "x" * 129, "has space", "semi;colon", "caf\u00e9", "tab\tinside", ""])
def test_a_malformed_correlation_id_is_replaced_by_the_request_id(world, given):
    from chalicelib.store.models import JobModel

    api, a = world["api"], world["a"]
    status, body, headers = call(api, "POST", "/v1/jobs", a, {"prompt": "correlated"}, headers={"X-Correlation-Id": given})
    purge()
    assert status == 202, body
    stored = JobModel.get(a.workspace_id, body["job"]["id"]).correlation_id
    assert stored == headers["X-Request-Id"] and len(stored) <= 128


def test_a_well_formed_correlation_id_is_kept(world):
    from chalicelib.store.models import JobModel

    api, a = world["api"], world["a"]
    given = "Trace-01:abc.def_" + "9" * 100
    status, body, _ = call(api, "POST", "/v1/jobs", a, {"prompt": "correlated"}, headers={"X-Correlation-Id": given})
    purge()
    assert status == 202 and JobModel.get(a.workspace_id, body["job"]["id"]).correlation_id == given


@pytest.mark.parametrize("given", ["x" * 129, "has space", "<script>", "caf\u00e9"])
def test_a_malformed_request_id_is_not_echoed(world, given):
    status, _, headers = call(world["api"], "GET", "/healthz", headers={"X-Request-Id": given})
    assert status == 200 and headers["X-Request-Id"] != given and headers["X-Request-Id"].startswith("req_")


@pytest.mark.parametrize("key", ["k" * 256, "bad\u0000key"])
def test_a_bad_idempotency_key_is_400(world, key):
    _refused(
        world, "POST", "/v1/keys", world["a"], raw='{"name": "x"}', headers={"Idempotency-Key": key}, field="Idempotency-Key"
    )


def test_every_answer_is_nosniff_and_unframeable(world):
    api, a = world["api"], world["a"]
    for method, path in (
        ("GET", "/healthz"),
        ("GET", "/v1/me"),
        ("GET", "/v1/jobs?limit=0"),
        ("DELETE", "/v1/jobs"),
        ("GET", "/admin"),
        ("GET", "/admin/assets/admin.js"),
    ):
        response = api.http.request(method, path, headers=a.auth)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


# --- What the fuzzer (tests/e2e/test_fuzz.py) found, kept as regressions --------------------------


@pytest.mark.parametrize(
    "name",
    [
        "\U0001d57f" * 100,
        "%F0%9D%95%BF" * 100,
        "a" * 300,
        "..%2Fapp.py",
        "..%2Fadmin.js",
        "admin.js%00.css",
        "index.html.bak",
        ".",
        "%2e%2e",
    ],
)
def test_asset_names_are_looked_up_never_handed_to_the_filesystem(world, name):
    """A 300-byte asset name made Path.is_file() raise ENAMETOOLONG: a 500."""
    _refused(world, "GET", f"/admin/assets/{name}", None, status=404, code="not_found")
