"""/v1/webhook-endpoints: create (secret shown once), list, get, patch, delete, rotate-secret;
bad input of every field is a 400 that changes nothing; another tenant's ids are 404."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store.models import WebhookEndpointModel
from tests.functional.helpers import call

URL = "http://127.0.0.1:9/hooks"  # the test stage allows http and loopback


def create(api: Any, tenant: Any, **body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    payload = {"url": URL, "events": ["job.succeeded", "job.failed"], **body}
    return call(api, "POST", "/v1/webhook-endpoints", tenant, payload)


def test_create_shows_the_secret_once_and_never_lists_it(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    status, body, _ = create(api, owner, description="billing system")
    assert status == 201, body
    endpoint, secret = body["endpoint"], body["secret"]
    assert secret.startswith("whsec_") and endpoint["id"].startswith("whe_")
    assert endpoint["status"] == "enabled" and endpoint["events"] == ["job.failed", "job.succeeded"]
    status, listed, _ = call(api, "GET", "/v1/webhook-endpoints", owner)
    assert status == 200 and [e["id"] for e in listed["data"]] == [endpoint["id"]]
    assert secret not in str(listed)
    status, one, _ = call(api, "GET", f"/v1/webhook-endpoints/{endpoint['id']}", owner)
    assert status == 200 and one["endpoint"] == endpoint and secret not in str(one)


def test_an_idempotent_replay_of_create_answers_without_the_secret(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    headers = {"Idempotency-Key": "create-hook-1"}
    first = call(api, "POST", "/v1/webhook-endpoints", owner, {"url": URL, "events": ["job.failed"]}, headers)
    again = call(api, "POST", "/v1/webhook-endpoints", owner, {"url": URL, "events": ["job.failed"]}, headers)
    assert first[0] == again[0] == 201
    assert first[1]["secret"].startswith("whsec_") and again[1]["secret"] is None
    assert again[1]["endpoint"]["id"] == first[1]["endpoint"]["id"] and again[2]["Idempotent-Replayed"] == "true"
    assert len(call(api, "GET", "/v1/webhook-endpoints", owner)[1]["data"]) == 1


def test_patch_delete_and_rotate(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    made = create(api, owner)[1]
    endpoint_id = made["endpoint"]["id"]
    status, patched, _ = call(
        api, "PATCH", f"/v1/webhook-endpoints/{endpoint_id}", owner, {"events": ["topup.failed"], "status": "disabled"}
    )
    assert status == 200 and patched["endpoint"]["events"] == ["topup.failed"]
    assert patched["endpoint"]["status"] == "disabled" and patched["endpoint"]["disabled_reason"]
    status, enabled, _ = call(api, "PATCH", f"/v1/webhook-endpoints/{endpoint_id}", owner, {"status": "enabled"})
    assert status == 200 and enabled["endpoint"]["status"] == "enabled" and enabled["endpoint"]["disabled_reason"] is None
    status, rotated, _ = call(api, "POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", owner)
    assert status == 200 and rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["endpoint"]["previous_secret_expires_at"] is not None
    row = WebhookEndpointModel.get(owner.workspace_id, endpoint_id)
    assert row.secret == rotated["secret"] and row.previous_secret == made["secret"]
    assert call(api, "DELETE", f"/v1/webhook-endpoints/{endpoint_id}", owner)[0] == 204
    assert call(api, "GET", f"/v1/webhook-endpoints/{endpoint_id}", owner)[0] == 404
    assert call(api, "DELETE", f"/v1/webhook-endpoints/{endpoint_id}", owner)[0] == 404


def test_another_tenants_endpoint_is_not_found_and_unchanged(api: Any, make_tenant: Any) -> None:
    owner, other = make_tenant(), make_tenant()
    endpoint_id = create(api, owner)[1]["endpoint"]["id"]
    for method, path, body in (
        ("GET", f"/v1/webhook-endpoints/{endpoint_id}", None),
        ("PATCH", f"/v1/webhook-endpoints/{endpoint_id}", {"status": "disabled"}),
        ("DELETE", f"/v1/webhook-endpoints/{endpoint_id}", None),
        ("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", None),
        ("GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", None),
    ):
        status, answer, _ = call(api, method, path, other, body)
        assert status == 404 and answer["error"]["code"] == "not_found", (method, path, answer)
    assert call(api, "GET", "/v1/webhook-endpoints", other)[1]["data"] == []
    assert WebhookEndpointModel.get(owner.workspace_id, endpoint_id).status == "enabled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["job.succeeded"]}, "url"),
        ({"url": URL}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["job.exploded"]}, "events"),
        ({"url": URL, "events": "job.failed"}, "events"),
        ({"url": 12345678, "events": ["job.failed"]}, "url"),
        ({"url": "ftp://example.com/hook", "events": ["job.failed"]}, "url"),
        ({"url": "http://user:pw@127.0.0.1/x", "events": ["job.failed"]}, "url"),
        ({"url": "not a url at all", "events": ["job.failed"]}, "url"),
        ({"url": URL, "events": ["job.failed"], "description": "x" * 501}, "description"),
        ({"url": URL, "events": ["job.failed"], "secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api: Any, make_tenant: Any, body: Any, field: str) -> None:
    owner = make_tenant()
    status, answer, _ = call(api, "POST", "/v1/webhook-endpoints", owner, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert answer["error"].get("field", "").startswith(field), answer
    assert call(api, "GET", "/v1/webhook-endpoints", owner)[1]["data"] == []


@pytest.mark.parametrize("body", [{}, {"url": None}, {"status": "paused"}, {"events": []}, {"url": "gopher://x"}])
def test_bad_patches_change_nothing(api: Any, make_tenant: Any, body: Any) -> None:
    owner = make_tenant()
    made = create(api, owner)[1]["endpoint"]
    status, answer, _ = call(api, "PATCH", f"/v1/webhook-endpoints/{made['id']}", owner, body)
    assert status == 400, answer
    assert call(api, "GET", f"/v1/webhook-endpoints/{made['id']}", owner)[1]["endpoint"] == made


def test_a_viewer_or_member_or_unscoped_caller_may_not_manage_endpoints(api: Any, make_tenant: Any) -> None:
    status, answer, _ = call(api, "POST", "/v1/webhook-endpoints", None, {"url": URL, "events": ["job.failed"]})
    assert status == 401
    owner = make_tenant()
    from chalicelib.store.models import UserModel

    UserModel(owner.user_id).update(actions=[UserModel.role.set("member")])
    status, answer, _ = create(api, owner)
    assert status == 403 and answer["error"]["code"] == "forbidden"


def test_unknown_ids_are_404(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    for path in ("/v1/webhook-endpoints/whe_nope", "/v1/webhook-endpoints/job_01JAAAAAAAAAAAAAAAAAAAAAAA"):
        assert call(api, "GET", path, owner)[0] == 404
    assert call(api, "POST", "/v1/webhook-deliveries/whd_nope/replay", owner)[0] == 404
