"""POST /v1/keys scopes and caps (never above the creator) and workspace service keys."""

from __future__ import annotations

import pytest

from chalicelib.store.models import UserModel
from tests.functional.helpers import call


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _key(api, t, body, headers=None):
    return call(api, "POST", "/v1/keys", None if headers else t, body, headers=headers)


def test_a_key_carries_scopes_and_caps_and_the_list_shows_them(api, make_tenant):
    t = make_tenant()
    status, made, _ = _key(api, t, {"name": "ci", "scopes": ["jobs:read", "jobs:write"], "credits_per_day": 50})
    assert status == 201, made
    assert made["key"]["scopes"] == ["jobs:read", "jobs:write"]
    assert (made["key"]["credits_per_day"], made["key"]["credits_per_month"], made["key"]["owner"]) == (50, None, "user")
    listed = {k["id"]: k for k in call(api, "GET", "/v1/keys", t)[1]["data"]}
    assert listed[made["key"]["id"]]["scopes"] == ["jobs:read", "jobs:write"]
    assert listed[t.key_id]["scopes"] is None  # the owner's first key: all the role allows
    scoped = _bearer(made["secret"])
    assert call(api, "GET", "/v1/jobs", None, headers=scoped)[0] == 200
    status, err, _ = call(api, "GET", "/v1/balance", None, headers=scoped)
    assert status == 403 and err["error"]["scope"] == "billing:read"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "scopes": ["jobs:admin"]}, "scopes.0"),
        ({"name": "x", "scopes": "jobs:read"}, "scopes"),
        ({"name": "x", "scopes": [1]}, "scopes.0"),
        ({"name": "x", "credits_per_day": 0}, "credits_per_day"),
        ({"name": "x", "credits_per_day": -5}, "credits_per_day"),
        ({"name": "x", "credits_per_month": "5"}, "credits_per_month"),
        ({"name": "x", "credits_per_month": 1.5}, "credits_per_month"),
        ({"name": "x", "credits_per_month": True}, "credits_per_month"),
    ],
)
def test_bad_scopes_and_caps_are_400_with_the_field_and_make_no_key(api, make_tenant, body, field):
    t = make_tenant()
    status, err, _ = _key(api, t, body)
    assert status == 400 and err["error"]["field"] == field, err
    assert len(call(api, "GET", "/v1/keys", t)[1]["data"]) == 1


def test_no_escalation_through_a_role_or_a_scoped_key(api, make_tenant):
    t = make_tenant()
    UserModel(t.user_id).update(actions=[UserModel.role.set("member")])
    status, err, _ = _key(api, t, {"name": "x", "scopes": ["jobs:read", "billing:read"]})
    assert status == 403 and err["error"]["scope"] == "billing:read"  # a member cannot grant billing
    UserModel(t.user_id).update(actions=[UserModel.role.set("owner")])
    status, narrow, _ = _key(api, t, {"name": "narrow", "scopes": ["jobs:read"]})
    assert status == 201
    status, err, _ = _key(api, t, {"name": "wider", "scopes": ["jobs:write"]}, headers=_bearer(narrow["secret"]))
    assert status == 403 and err["error"] == {**err["error"], "code": "forbidden", "scope": "jobs:write"}
    status, inherited, _ = _key(api, t, {"name": "same"}, headers=_bearer(narrow["secret"]))
    assert status == 201 and inherited["key"]["scopes"] == ["jobs:read"]  # omitted: the creator's own


def test_a_capped_key_creates_no_keys(api, make_tenant):
    t = make_tenant()
    capped = _key(api, t, {"name": "capped", "credits_per_month": 10})[1]["secret"]
    status, err, _ = _key(api, t, {"name": "more", "credits_per_month": 10}, headers=_bearer(capped))
    assert status == 403 and err["error"]["code"] == "forbidden"


def test_service_keys_are_for_owners_and_admins_and_act_as_the_workspace(api, make_tenant):
    t = make_tenant()
    status, made, _ = call(api, "POST", "/v1/service-keys", t, {"name": "ci", "scopes": ["jobs:read", "jobs:write"]})
    assert status == 201 and made["key"]["owner"] == "workspace", made
    service = _bearer(made["secret"])
    status, me, _ = call(api, "GET", "/v1/me", None, headers=service)
    assert status == 200 and me["role"] == "admin" and me["user"]["id"].startswith("svc_")
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "from ci"}, headers=service)[0] == 202
    assert call(api, "GET", "/v1/balance", None, headers=service)[0] == 403  # its scopes narrow it
    assert call(api, "PATCH", "/v1/me", None, {"display_name": "x"}, headers=service)[0] == 403
    assert call(api, "POST", "/v1/keys", None, {"name": "x"}, headers=service)[0] == 403
    assert [k["id"] for k in call(api, "GET", "/v1/service-keys", t)[1]["data"]] == [made["key"]["id"]]
    assert made["key"]["id"] not in {k["id"] for k in call(api, "GET", "/v1/keys", t)[1]["data"]}
    assert call(api, "DELETE", f"/v1/service-keys/{made['key']['id']}", t)[0] == 204
    assert call(api, "GET", "/v1/jobs", None, headers=service)[0] == 401


def test_members_cannot_make_service_keys_and_scopes_still_bind(api, make_tenant):
    t = make_tenant()
    UserModel(t.user_id).update(actions=[UserModel.role.set("member")])
    status, err, _ = call(api, "POST", "/v1/service-keys", t, {"name": "ci"})
    assert status == 403 and err["error"]["scope"] == "members:write"
    UserModel(t.user_id).update(actions=[UserModel.role.set("admin")])
    narrow = _key(api, t, {"name": "n", "scopes": ["members:write"]})[1]["secret"]
    status, err, _ = call(
        api, "POST", "/v1/service-keys", None, {"name": "ci", "scopes": ["jobs:write"]}, headers=_bearer(narrow)
    )
    assert status == 403 and err["error"]["scope"] == "jobs:write"


def test_another_workspace_cannot_touch_service_keys(api, make_tenant):
    a, b = make_tenant(), make_tenant()
    made = call(api, "POST", "/v1/service-keys", a, {"name": "ci"})[1]
    assert call(api, "DELETE", f"/v1/service-keys/{made['key']['id']}", b)[0] == 404
    assert call(api, "GET", "/v1/service-keys", b)[1]["data"] == []
    assert call(api, "DELETE", f"/v1/keys/{made['key']['id']}", a)[0] == 404  # not a personal key
