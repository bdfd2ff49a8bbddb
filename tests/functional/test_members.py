"""Members: roles below owner by admins, owners by owners, at least one owner, removal revoking
personal keys (service keys stay), a person in several workspaces."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.functional.helpers import call
from tests.functional.teams_helpers import bearer, join


def test_members_list_and_roles(api, make_tenant, admin):
    t = make_tenant()
    viewer = join(api, t, admin, "viewer")
    status, page, _ = call(api, "GET", "/v1/members", viewer)
    assert status == 200
    rows = {m["user_id"]: m for m in page["data"]}
    assert rows[t.user_id]["role"] == "owner" and rows[viewer.user_id]["role"] == "viewer"
    assert set(rows[viewer.user_id]) == {"user_id", "email", "display_name", "role", "credits_per_month", "joined_at"}
    assert call(api, "POST", "/v1/jobs", viewer, {"prompt": "x"})[0] == 403
    status, changed, _ = call(api, "PATCH", f"/v1/members/{viewer.user_id}", t, {"role": "member", "credits_per_month": 40})
    assert status == 200 and changed["member"]["role"] == "member" and changed["member"]["credits_per_month"] == 40
    assert call(api, "POST", "/v1/jobs", viewer, {"prompt": "x"})[0] == 202  # at once
    assert call(api, "GET", "/v1/me", viewer)[1]["role"] == "member"
    status, changed, _ = call(api, "PATCH", f"/v1/members/{viewer.user_id}", t, {"credits_per_month": None})
    assert status == 200 and changed["member"]["credits_per_month"] is None and changed["member"]["role"] == "member"


def test_admins_manage_below_owner_only(api, make_tenant, admin):
    t = make_tenant()
    boss = join(api, t, admin, "admin")
    other = join(api, t, admin, "member")
    assert call(api, "PATCH", f"/v1/members/{other.user_id}", boss, {"role": "admin"})[0] == 200
    for body in ({"role": "owner"},):
        status, err, _ = call(api, "PATCH", f"/v1/members/{other.user_id}", boss, body)
        assert status == 403 and err["error"]["scope"] == "workspace:own"
    status, err, _ = call(api, "PATCH", f"/v1/members/{t.user_id}", boss, {"role": "member"})
    assert status == 403 and err["error"]["scope"] == "workspace:own"
    assert call(api, "DELETE", f"/v1/members/{t.user_id}", boss)[0] == 403
    assert call(api, "PATCH", f"/v1/members/{boss.user_id}", other, {"role": "viewer"})[0] == 200  # admins manage admins
    status, err, _ = call(api, "PATCH", f"/v1/members/{other.user_id}", boss, {"role": "member"})
    assert status == 403 and err["error"]["scope"] == "members:write"  # a viewer now: at once


def test_the_last_owner_stays_and_ownership_transfers(api, make_tenant, admin):
    t = make_tenant()
    status, err, _ = call(api, "PATCH", f"/v1/members/{t.user_id}", t, {"role": "admin"})
    assert status == 409 and err["error"]["code"] == "conflict"
    assert call(api, "DELETE", f"/v1/members/{t.user_id}", t)[0] == 409
    heir = join(api, t, admin, "admin")
    status, moved, _ = call(api, "POST", f"/v1/members/{heir.user_id}/transfer-ownership", t)
    assert status == 200 and moved["member"]["role"] == "owner", moved
    roles = {m["user_id"]: m["role"] for m in call(api, "GET", "/v1/members", t)[1]["data"]}
    assert roles == {t.user_id: "admin", heir.user_id: "owner"}
    assert call(api, "POST", f"/v1/members/{t.user_id}/transfer-ownership", t)[0] == 403  # no longer an owner
    assert call(api, "PATCH", f"/v1/members/{heir.user_id}", heir, {"role": "admin"})[0] == 409  # the only owner


def test_two_owners_demoting_each_other_concurrently_leave_one(api, make_tenant, admin):
    t = make_tenant()
    second = join(api, t, admin, "admin")
    assert call(api, "PATCH", f"/v1/members/{second.user_id}", t, {"role": "owner"})[0] == 200
    start = threading.Barrier(2)

    def demote(pair):
        actor, target = pair
        start.wait()
        return call(api, "PATCH", f"/v1/members/{target}", actor, {"role": "admin"})[0]

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(demote, [(t, second.user_id), (second, t.user_id)]))
    roles = [m["role"] for m in call(api, "GET", "/v1/members", t)[1]["data"]]
    assert roles.count("owner") == 1, (statuses, roles)


def test_removal_revokes_personal_keys_at_once_and_service_keys_stay(api, make_tenant, admin):
    t = make_tenant()
    leaving = join(api, t, admin, "admin")
    extra = call(api, "POST", "/v1/keys", leaving, {"name": "laptop"})[1]
    service = call(api, "POST", "/v1/service-keys", leaving, {"name": "ci"})[1]
    status, preview, _ = call(api, "DELETE", f"/v1/members/{leaving.user_id}?dry_run=true", t)
    assert status == 200 and preview["removed"] is False
    assert {k["id"] for k in preview["keys"]} >= {extra["key"]["id"]} and len(preview["keys"]) == 2
    assert call(api, "GET", "/v1/jobs", leaving)[0] == 200  # a dry run changes nothing
    assert call(api, "DELETE", f"/v1/members/{leaving.user_id}?dry_run=maybe", t)[0] == 400
    assert call(api, "DELETE", f"/v1/members/{leaving.user_id}", t)[0] == 204
    assert call(api, "GET", "/v1/jobs", leaving)[0] == 401
    assert call(api, "GET", "/v1/jobs", None, headers=bearer(extra["secret"]))[0] == 401
    assert call(api, "GET", "/v1/jobs", None, headers=bearer(service["secret"]))[0] == 200
    assert leaving.user_id not in {m["user_id"] for m in call(api, "GET", "/v1/members", t)[1]["data"]}
    assert call(api, "DELETE", f"/v1/members/{leaving.user_id}", t)[0] == 404


def _race_removal_and_key(api, t, leaving) -> None:
    start = threading.Barrier(2)

    def remove():
        start.wait()
        return call(api, "DELETE", f"/v1/members/{leaving.user_id}", t)[0]

    def mint():
        start.wait()
        return call(api, "POST", "/v1/keys", leaving, {"name": "racing"})

    with ThreadPoolExecutor(2) as pool:
        removed, minted = pool.submit(remove), pool.submit(mint)
        assert removed.result() == 204
        status, body, _ = minted.result()
    if status == 201:  # created before the removal read the keys, or the removal retried: revoked
        assert call(api, "GET", "/v1/jobs", None, headers=bearer(body["secret"]))[0] == 401
    else:
        assert status in (401, 409), body


def test_concurrent_removal_and_key_creation_leave_no_live_key(api, make_tenant, admin):
    for _ in range(3):
        t = make_tenant()
        _race_removal_and_key(api, t, join(api, t, admin, "member"))


def test_another_workspace_cannot_see_or_touch_members(api, make_tenant, admin):
    a, b = make_tenant(), make_tenant()
    member = join(api, a, admin, "member")
    assert call(api, "PATCH", f"/v1/members/{member.user_id}", b, {"role": "viewer"})[0] == 404
    assert call(api, "DELETE", f"/v1/members/{member.user_id}", b)[0] == 404
    assert call(api, "PATCH", "/v1/members/usr_nope", a, {"role": "viewer"})[0] == 404
    assert member.user_id not in {m["user_id"] for m in call(api, "GET", "/v1/members", b)[1]["data"]}
    for body, field in (
        ({"role": "boss"}, "role"),
        ({"credits_per_month": 0}, "credits_per_month"),
        ({}, "role"),
        ({"x": 1}, "x"),
    ):
        status, err, _ = call(api, "PATCH", f"/v1/members/{member.user_id}", a, body)
        assert status == 400 and err["error"]["field"] == field, (body, err)


def test_a_person_in_two_workspaces(api, make_tenant, admin):
    a, b = make_tenant(), make_tenant()
    person = join(api, a, admin, "member")
    from tests.functional.teams_helpers import invite

    _, token = invite(api, b, admin, "viewer", email=person.email)
    status, err, _ = call(api, "POST", "/v1/invitations/accept", None, {"token": token})
    assert status == 409  # an account exists: accept signed in
    status, joined, _ = call(api, "POST", "/v1/invitations/accept", person, {"token": token})
    assert status == 200 and joined["role"] == "viewer" and joined["workspace"]["id"] == b.workspace_id
    in_b = bearer(joined["api_key"])
    spaces = {w["id"]: w["role"] for w in call(api, "GET", "/v1/workspaces", person)[1]["data"]}
    assert spaces == {a.workspace_id: "member", b.workspace_id: "viewer"}
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "x"}, headers=in_b)[0] == 403  # a viewer in b
    assert call(api, "POST", "/v1/jobs", person, {"prompt": "x"})[0] == 202  # a member in a
    assert call(api, "GET", "/v1/me", None, headers=in_b)[1]["role"] == "viewer"
    assert call(api, "DELETE", f"/v1/members/{person.user_id}", b)[0] == 204
    assert call(api, "GET", "/v1/jobs", None, headers=in_b)[0] == 401
    assert call(api, "GET", "/v1/jobs", person)[0] == 200  # still a member of a
    assert [w["id"] for w in call(api, "GET", "/v1/workspaces", person)[1]["data"]] == [a.workspace_id]


def test_one_idempotency_key_in_two_workspaces_makes_two_jobs(api, make_tenant, admin):
    """A person's Idempotency-Keys are theirs per workspace: the same key in another workspace is
    a new request, never the first workspace's replay."""
    a, b = make_tenant(), make_tenant()
    person = join(api, a, admin, "member")
    from tests.functional.teams_helpers import invite

    _, token = invite(api, b, admin, "member", email=person.email)
    joined = call(api, "POST", "/v1/invitations/accept", person, {"token": token})[1]
    in_b = bearer(joined["api_key"])
    key = {"Idempotency-Key": "same-key-in-both"}
    status, first, _ = call(api, "POST", "/v1/jobs", person, {"prompt": "x"}, headers={**person.auth, **key})
    assert status == 202
    status, second, headers = call(api, "POST", "/v1/jobs", None, {"prompt": "x"}, headers={**in_b, **key})
    assert status == 202 and "Idempotent-Replayed" not in headers
    assert second["job"]["id"] != first["job"]["id"]
    assert call(api, "GET", f"/v1/jobs/{second['job']['id']}", None, headers=in_b)[0] == 200
    status, again, headers = call(api, "POST", "/v1/jobs", None, {"prompt": "x"}, headers={**in_b, **key})
    assert again["job"]["id"] == second["job"]["id"]  # within one workspace it is still a replay
