"""Bad input of every kind gets a clear 4xx in the error envelope, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from chalicelib.accounting.ledger import get_wallet
from tests.functional.helpers import call, purge, receive

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


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"a string"', "null", "\udcff", "{\"prompt\": \"a\"", "42"])
def test_malformed_json_is_400(api, make_tenant, raw):
    t = make_tenant()
    status, err, _ = call(api, "POST", "/v1/jobs", t, raw=raw.encode("utf-8", "surrogatepass"))
    assert status == 400 and err["error"]["code"] == "invalid_request"


def test_huge_body_is_413(api, make_tenant):
    t = make_tenant()
    status, err, _ = call(api, "POST", "/v1/jobs", t, raw=b'{"prompt": "' + b"x" * (1024 * 1024 + 10) + b'"}')
    assert status == 413 and err["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer sk_test_nope", "Basic abc", "Bearer " + "sk_" + "x" * 300,
                                    "bearer\tsk_test_x"])
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
    status, _, _ = call(api, "DELETE", f"/v1/keys/{made['key']['id']}", t)
    assert status == 200
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
    patch = {"display_name": "Ada", "settings": {"default_provider": "local", "default_size": "512x512", "default_n": 2,
                                                 "notifications": {"email": False}}}
    status, me, _ = call(api, "PATCH", "/v1/me", t, patch)
    assert status == 200 and me["user"]["display_name"] == "Ada"
    assert me["user"]["settings"]["default_n"] == 2 and me["user"]["settings"]["notifications"]["email"] is False
    # Defaults apply to new jobs.
    purge()
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "defaults"})
    assert body["job"]["n"] == 2 and body["job"]["size"] == "512x512"
    purge()
    for bad in ({"display_name": ""}, {"settings": {"default_n": 9}}, {"settings": {"default_provider": "x"}},
                {"settings": {"notifications": {"email": "no"}}}, {"role": "admin"}, {"display_name": 5}):
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
    for body in ({"name": "x", "owner_email": "nope", "plan": "pro"}, {"name": "x", "owner_email": "a@b.co", "plan": "gold"},
                 {"name": "", "owner_email": "a@b.co"}, {"owner_email": "a@b.co"}):
        status, err, _ = call(api, "POST", "/admin/api/workspaces", admin, body)
        assert status == 400, body
    for body in ({"amount": 0, "reason": "x"}, {"amount": "5", "reason": "x"}, {"amount": 5}, {"amount": 5, "reason": ""},
                 {"amount": 10**12, "reason": "x"}):
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
