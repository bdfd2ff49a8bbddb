"""Every route names its permission: roles and scoped keys through the real routes."""

from __future__ import annotations

from chalicelib.store.models import ApiKeyModel, UserModel
from tests.functional.helpers import call


def _scope_key(t, scopes: list[str]) -> None:
    key = next(k for k in ApiKeyModel.scan() if k.key_id == t.key_id)
    key.update(actions=[ApiKeyModel.scopes.set(scopes)])


def test_a_viewer_reads_but_does_not_write_or_see_billing(api, make_tenant):
    t = make_tenant()
    UserModel(t.user_id).update(actions=[UserModel.role.set("viewer")])
    assert call(api, "GET", "/v1/jobs", t)[0] == 200
    assert call(api, "GET", "/v1/usage", t)[0] == 200
    assert call(api, "GET", "/v1/me", t)[0] == 200
    for method, path, body in (
        ("POST", "/v1/jobs", {"prompt": "x"}),
        ("GET", "/v1/balance", None),
        ("GET", "/v1/ledger", None),
        ("POST", "/v1/keys", {"name": "more"}),
    ):
        status, err, _ = call(api, method, path, t, body)
        assert status == 403 and err["error"]["code"] == "forbidden", (path, err)
        assert err["error"]["scope"], path


def test_a_member_makes_jobs_but_not_billing(api, make_tenant):
    t = make_tenant()
    UserModel(t.user_id).update(actions=[UserModel.role.set("member")])
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "x"})[0] == 202
    status, err, _ = call(api, "GET", "/v1/balance", t)
    assert status == 403 and err["error"]["scope"] == "billing:read"


def test_a_scoped_key_narrows_its_owner(api, make_tenant):
    t = make_tenant()
    _scope_key(t, ["jobs:read"])
    assert call(api, "GET", "/v1/jobs", t)[0] == 200
    assert call(api, "GET", "/v1/me", t)[0] == 200  # about oneself: every key
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "x"})
    assert status == 403 and err["error"] == {**err["error"], "code": "forbidden", "scope": "jobs:write"}
    assert call(api, "GET", "/v1/balance", t)[0] == 403
    _scope_key(t, [])
    assert call(api, "GET", "/v1/jobs", t)[0] == 403  # an empty scope list is not "everything"
