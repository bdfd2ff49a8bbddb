"""People who sign in with a Cognito ID token (moto's pool issues it; the JWKS is moto's, on
loopback): the same Principal as an API key, in the workspace X-Workspace-Id names, with the
role they have there. Every way a token can be wrong is a 401 that changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.store import identities, users
from chalicelib.store.models import IdentityModel, JobModel, WorkspaceModel
from tests.functional.helpers import call
from tests.functional.signin_helpers import (
    access_token,
    claims_of,
    mint,
    moto_key,
    other_client,
    other_pool,
    sign_in,
    signed_in,
    unsigned,
    valid_claims,
)
from tests.functional.teams_helpers import join, token_for


def _email(tenant) -> str:
    user = users.get(tenant.user_id)
    assert user is not None
    return user.email


def _linked(sub: str) -> bool:
    from chalicelib.settings import get_settings

    return identities.get(str(get_settings().cognito_user_pool_id), sub) is not None


@pytest.fixture()
def team(api, make_tenant, admin):
    """Workspace A (owner + a viewer who signs in), workspace B (another owner)."""
    a, b = make_tenant(), make_tenant()
    viewer = join(api, a, admin, "viewer")
    return {"a": a, "b": b, "viewer": viewer}


def test_an_owner_signs_in_and_acts_in_their_only_workspace(api, team):
    a = team["a"]
    token = sign_in(_email(a))
    status, me, _ = call(api, "GET", "/v1/me", headers=signed_in(token))
    assert status == 200, me
    assert (me["user"]["id"], me["workspace"]["id"], me["role"]) == (a.user_id, a.workspace_id, "owner")
    assert _linked(claims_of(token)["sub"])
    status, body, _ = call(api, "POST", "/v1/jobs", headers=signed_in(token), body={"prompt": "signed in"})
    assert status == 202, body
    job = JobModel.get(a.workspace_id, body["job"]["id"])
    assert (job.user_id, job.key_id) == (a.user_id, None)  # a person, not a key


def test_the_role_of_the_chosen_workspace_applies(api, team):
    """A viewer of A who also owns their own workspace B': in A they may read but not create jobs."""
    a, viewer = team["a"], team["viewer"]
    token = sign_in(viewer.email)
    assert call(api, "GET", "/v1/jobs", headers=signed_in(token, a.workspace_id))[0] == 200
    status, body, _ = call(api, "POST", "/v1/jobs", headers=signed_in(token, a.workspace_id), body={"prompt": "x"})
    assert (status, body["error"]["code"], body["error"]["scope"]) == (403, "forbidden", "jobs:write")
    assert call(api, "GET", "/v1/balance", headers=signed_in(token, a.workspace_id))[0] == 403
    assert not list(JobModel.query(a.workspace_id))  # nothing was admitted


def test_a_workspace_the_person_is_not_in_is_forbidden(api, team):
    token = sign_in(_email(team["a"]))
    for other in (team["b"].workspace_id, "ws_00000000000000000000000000"):
        status, body, _ = call(api, "GET", "/v1/jobs", headers=signed_in(token, other))
        assert (status, body["error"]["code"]) == (403, "forbidden"), other


def test_a_malformed_workspace_id_is_a_400_naming_the_header(api, team):
    token = sign_in(_email(team["a"]))
    status, body, _ = call(api, "GET", "/v1/jobs", headers=signed_in(token, "not-a-workspace"))
    assert (status, body["error"]["field"]) == (400, "X-Workspace-Id")


def test_several_workspaces_need_the_header(api, make_tenant, admin):
    a, b = make_tenant(), make_tenant()
    person = join(api, a, admin, "member")
    status, body, _ = call(api, "POST", "/v1/invitations", b, {"email": person.email, "role": "admin"})
    assert status == 201, body
    accepted = call(api, "POST", "/v1/invitations/accept", person, {"token": token_for(api, admin, person.email)})
    assert accepted[0] == 200, accepted
    token = sign_in(person.email)
    status, body, _ = call(api, "GET", "/v1/me", headers=signed_in(token))
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "invalid_request", "X-Workspace-Id")
    in_b = call(api, "GET", "/v1/me", headers=signed_in(token, b.workspace_id))[1]
    assert (in_b["workspace"]["id"], in_b["role"]) == (b.workspace_id, "admin")
    in_a = call(api, "GET", "/v1/me", headers=signed_in(token, a.workspace_id))[1]
    assert (in_a["workspace"]["id"], in_a["role"]) == (a.workspace_id, "member")
    listed = call(api, "GET", "/v1/workspaces", headers=signed_in(token, a.workspace_id))[1]
    assert {w["id"] for w in listed["data"]} >= {a.workspace_id, b.workspace_id}


def test_a_removed_member_is_forbidden_at_once(api, team):
    a, viewer = team["a"], team["viewer"]
    token = sign_in(viewer.email)
    assert call(api, "GET", "/v1/jobs", headers=signed_in(token, a.workspace_id))[0] == 200
    assert call(api, "DELETE", f"/v1/members/{viewer.user_id}", a)[0] == 204
    assert call(api, "GET", "/v1/jobs", headers=signed_in(token, a.workspace_id))[0] == 403


def test_a_banned_workspace_refuses_its_people(api, team):
    a = team["a"]
    WorkspaceModel(a.workspace_id).update(actions=[WorkspaceModel.status.set("banned")])
    status, body, _ = call(api, "GET", "/v1/jobs", headers=signed_in(sign_in(_email(a))))
    assert (status, body["error"]["code"]) == (403, "account_banned")


def test_an_api_key_cannot_name_another_workspace(api, team):
    a, b = team["a"], team["b"]
    status, body, _ = call(api, "GET", "/v1/jobs", a, headers={"X-Workspace-Id": b.workspace_id})
    assert (status, body["error"]["field"]) == (400, "X-Workspace-Id")
    assert call(api, "GET", "/v1/jobs", a, headers={"X-Workspace-Id": a.workspace_id})[0] == 200


# --- every way a token can be wrong: 401, nothing linked, nothing done ----------------------------


def _refused(api, token: str, workspace_id: str | None = None) -> dict:
    status, body, _ = call(api, "POST", "/v1/jobs", headers=signed_in(token, workspace_id), body={"prompt": "nope"})
    assert (status, body["error"]["code"]) == (401, "unauthenticated"), body
    return body


def test_wrong_audience(api, team):
    token = sign_in(_email(team["a"]), client_id=other_client())
    _refused(api, token)
    assert not _linked(claims_of(token)["sub"])


def test_an_access_token_is_not_an_id_token(api, team):
    email = _email(team["a"])
    sign_in(email)
    token = access_token(email)
    assert claims_of(token)["token_use"] == "access"
    _refused(api, token)  # it has no `aud` (its `client_id` is the client) and names no email


def test_expired(api, team):
    email, sub = _email(team["a"]), str(uuid.uuid4())
    body = _refused(api, mint(valid_claims(email, sub, exp=1_700_000_000, iat=1_699_990_000)))
    assert "expired" in body["error"]["message"]
    assert not _linked(sub)


def test_a_foreign_pool(api, team):
    """Another pool's token: signed by a key we know (moto signs every pool's alike), another iss."""
    email = _email(team["a"])
    pool, client_id = other_pool()
    _refused(api, sign_in(email, client_id=client_id, pool_id=pool))


def test_signed_by_another_key(api, team):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email, sub = _email(team["a"]), str(uuid.uuid4())
    _refused(api, mint(valid_claims(email, sub), stranger))  # same kid, wrong key
    _refused(api, mint(valid_claims(email, sub), stranger, kid="made-up"))
    assert not _linked(sub)


def test_alg_none_and_hs256(api, team):
    email, sub = _email(team["a"]), str(uuid.uuid4())
    _refused(api, unsigned(valid_claims(email, sub)))
    # Algorithm confusion: HS256 "signed" with the pool's public key as the shared secret.
    public_pem = moto_key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header_payload = mint(valid_claims(email, sub)).rsplit(".", 1)[0]
    hs_header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "dummy"}).encode()).rstrip(b"=").decode()
    signing_input = f"{hs_header}.{header_payload.split('.')[1]}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    _refused(api, f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}")
    assert not _linked(sub)


def test_tampered_signature_and_payload(api, team):
    email = _email(team["a"])
    token = sign_in(email)
    head, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    _refused(api, f"{head}.{payload}.{flipped}")
    forged = mint(valid_claims("someone@else.test", claims_of(token)["sub"])).split(".")[1]
    _refused(api, f"{head}.{forged}.{signature}")  # another payload under the genuine signature


def test_unverified_or_unknown_email_links_nothing(api, team):
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.test"
    token = sign_in(email)
    assert "no account" in _refused(api, token)["error"]["message"]
    unverified = f"unverified-{uuid.uuid4().hex[:8]}@example.test"
    _refused(api, mint(valid_claims(_email(team["a"]), str(uuid.uuid4()), email_verified="false")))
    _refused(api, sign_in(unverified, verified=False))
    before = {row.identity for row in IdentityModel.scan()}
    _refused(api, token)
    assert {row.identity for row in IdentityModel.scan()} == before


def test_the_link_outlives_an_email_change(api, team):
    """Once linked, the `sub` decides: a token whose email changed still acts as the same user."""
    a = team["a"]
    token = sign_in(_email(a))
    assert call(api, "GET", "/v1/me", headers=signed_in(token))[0] == 200
    renamed = mint(valid_claims("renamed@example.test", claims_of(token)["sub"]))
    status, me, _ = call(api, "GET", "/v1/me", headers=signed_in(renamed))
    assert (status, me["user"]["id"]) == (200, a.user_id)


def test_garbage_bearer_values(api):
    for value in ("eyJ", "eyJa.b", "eyJ" + "a" * 9000 + ".b.c", "Bearer eyJa.b.c d"):
        status, body, _ = call(api, "GET", "/v1/me", headers={"Authorization": f"Bearer {value}"})
        assert (status, body["error"]["code"]) == (401, "unauthenticated"), value
