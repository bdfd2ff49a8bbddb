"""Invitations: mailed token (stored hashed), single use, expiry, resend, revoke; the local outbox."""

from __future__ import annotations

from chalicelib.store.models import InvitationModel
from tests.functional.helpers import call
from tests.functional.teams_helpers import bearer, invite, token_for


def test_invite_accept_once_and_the_new_person_works(api, make_tenant, admin):
    t = make_tenant()
    inv_id, token = invite(api, t, admin, "member", email="New.Person@Team.test")
    status, page, _ = call(api, "GET", "/v1/invitations", t)
    row = next(i for i in page["data"] if i["id"] == inv_id)
    assert row["status"] == "pending" and row["email"] == "new.person@team.test" and "token" not in row
    stored = InvitationModel.get(t.workspace_id, inv_id)
    assert token not in stored.token_hash and len(stored.token_hash) == 64  # only the hash
    mail = call(api, "GET", "/admin/api/outbox?to=new.person@team.test", admin)[1]["data"][0]
    assert set(mail) == {"to", "subject", "text", "created_at"} and f"token={token}" in mail["text"]
    status, joined, _ = call(api, "POST", "/v1/invitations/accept", None, {"token": token})
    assert status == 200 and joined["role"] == "member" and joined["api_key"].startswith("sk_test_")
    assert joined["workspace"]["id"] == t.workspace_id
    assert call(api, "POST", "/v1/jobs", None, {"prompt": "hello"}, headers=bearer(joined["api_key"]))[0] == 202
    status, again, _ = call(api, "POST", "/v1/invitations/accept", None, {"token": token})
    assert status == 409 and again["error"]["invitation_status"] == "accepted"  # accepted twice: refused
    assert next(i for i in call(api, "GET", "/v1/invitations", t)[1]["data"] if i["id"] == inv_id)["status"] == "accepted"


def test_an_expired_invitation_is_refused_and_a_resend_renews_it(api, make_tenant, admin, frozen_clock):
    t = make_tenant()
    inv_id, old = invite(api, t, admin, "viewer")
    frozen_clock.advance(days=8)
    status, err, _ = call(api, "POST", "/v1/invitations/accept", None, {"token": old})
    assert status == 409 and err["error"]["invitation_status"] == "expired"
    status, renewed, _ = call(api, "POST", f"/v1/invitations/{inv_id}/resend", t)
    assert status == 200 and renewed["invitation"]["status"] == "pending" and renewed["invitation"]["sent_count"] == 2
    new = token_for(api, admin, renewed["invitation"]["email"])
    assert new != old
    assert call(api, "POST", "/v1/invitations/accept", None, {"token": old})[0] == 404  # the old token stopped
    assert call(api, "POST", "/v1/invitations/accept", None, {"token": new})[0] == 200


def test_revoked_and_unknown_tokens_and_bad_bodies(api, make_tenant, admin):
    t = make_tenant()
    inv_id, token = invite(api, t, admin, "member")
    assert call(api, "DELETE", f"/v1/invitations/{inv_id}", t)[0] == 204
    assert call(api, "DELETE", f"/v1/invitations/{inv_id}", t)[0] == 204  # twice: nothing more
    status, err, _ = call(api, "POST", "/v1/invitations/accept", None, {"token": token})
    assert status == 409 and err["error"]["invitation_status"] == "revoked"
    assert call(api, "POST", f"/v1/invitations/{inv_id}/resend", t)[0] == 409
    assert call(api, "POST", "/v1/invitations/accept", None, {"token": "inv_" + "x" * 40})[0] == 404
    for body, field in (
        ({"token": 5}, "token"),
        ({}, "token"),
        ({"token": "short"}, "token"),
    ):
        status, err, _ = call(api, "POST", "/v1/invitations/accept", None, body)
        assert status == 400 and err["error"]["field"] == field
    for body, field in (
        ({"email": "not-an-email", "role": "member"}, "email"),
        ({"email": "a@b.test", "role": "owner"}, "role"),
        ({"email": "a@b.test"}, "role"),
    ):
        status, err, _ = call(api, "POST", "/v1/invitations", t, body)
        assert status == 400 and err["error"]["field"] == field
    assert (
        call(api, "POST", "/v1/invitations/accept", None, {"token": token}, headers={"Authorization": "Bearer sk_test_nope"})[0]
        == 401
    )


def test_who_may_invite_and_another_workspace(api, make_tenant, admin):
    a, b = make_tenant(), make_tenant()
    inv_id, _ = invite(api, a, admin, "member")
    assert call(api, "DELETE", f"/v1/invitations/{inv_id}", b)[0] == 404
    assert call(api, "POST", f"/v1/invitations/{inv_id}/resend", b)[0] == 404
    assert inv_id not in {i["id"] for i in call(api, "GET", "/v1/invitations", b)[1]["data"]}
    owner_email = call(api, "GET", "/v1/me", a)[1]["user"]["email"]
    status, err, _ = call(api, "POST", "/v1/invitations", a, {"email": owner_email, "role": "member"})
    assert status == 409  # already a member


def test_the_outbox_is_for_platform_admins(api, make_tenant, admin):
    t = make_tenant()
    assert call(api, "GET", "/admin/api/outbox?to=x@y.test", t)[0] == 403
    assert call(api, "GET", "/admin/api/outbox?to=x@y.test")[0] == 401
    status, err, _ = call(api, "GET", "/admin/api/outbox", admin)
    assert status == 400 and err["error"]["field"] == "to"
    assert call(api, "GET", "/admin/api/outbox?to=nobody@y.test", admin)[1] == {"data": []}


def test_one_token_replayed_concurrently_is_accepted_once(api, make_tenant, admin):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    t = make_tenant()
    _, token = invite(api, t, admin, "member")
    start = threading.Barrier(6)

    def accept(_: int) -> int:
        start.wait()
        return call(api, "POST", "/v1/invitations/accept", None, {"token": token})[0]

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(accept, range(6)))
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}, statuses
    assert len(call(api, "GET", "/v1/members", t)[1]["data"]) == 2
