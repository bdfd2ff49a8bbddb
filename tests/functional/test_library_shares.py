"""Share links: view vs download, expiry, revocation, no leaks, per-client rate limit, tenancy."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.functional.helpers import call
from tests.functional.library_helpers import make_images, member_of

pytestmark = pytest.mark.usefixtures("aws")


def share(api: Any, tenant: Any, target: dict[str, str], permission: str = "view", **extra: Any) -> dict[str, Any]:
    status, body, _ = call(api, "POST", "/v1/shares", tenant, {"target": target, "permission": permission, **extra})
    assert status == 201, body
    return dict(body["share"])


def public(api: Any, url: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = call(api, "GET", "/s/" + url.rsplit("/s/", 1)[1])
    return status, body


def test_view_link_shows_a_preview_only_and_leaks_nothing(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "secret prompt words")
    made = share(api, tenant, {"type": "image", "id": image})
    assert made["id"].startswith("shr_") and made["url"] and made["target"] == {"type": "image", "id": image}
    status, body = public(api, made["url"])
    assert status == 200, body
    text = json.dumps(body)
    for secret in (image, tenant.workspace_id, tenant.user_id, made["id"], "secret prompt", "job_"):
        assert secret not in text, secret
    (item,) = body["items"]
    assert item["download_url"] is None and item["prompt"] is None and body["permission"] == "view"
    preview = requests.get(item["preview_url"], timeout=10)
    assert preview.status_code == 200 and preview.content[:3] == b"\xff\xd8\xff"  # a JPEG preview, not the PNG
    token = made["url"].rsplit("/s/", 1)[1]
    from tests.functional.tables import snapshot

    assert token not in json.dumps(snapshot())  # only its hash is stored


def test_download_link_with_prompt_and_folder_target(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    inside, outside = make_images(api, tenant, "folder pictures", 2)
    status, body, _ = call(api, "POST", "/v1/folders", tenant, {"name": "Showcase"})
    folder_id = body["folder"]["id"]
    call(api, "PATCH", f"/v1/images/{inside}", tenant, {"folder_id": folder_id, "title": "Hero"})
    made = share(api, tenant, {"type": "folder", "id": folder_id}, "download", show_prompt=True)
    status, body = public(api, made["url"])
    assert status == 200 and body["type"] == "folder" and body["name"] == "Showcase"
    (item,) = body["items"]  # never the image outside the folder
    assert item["title"] == "Hero" and item["prompt"] == "folder pictures"
    original = requests.get(item["download_url"], timeout=10)
    assert original.status_code == 200 and original.content[:4] == b"\x89PNG"
    assert outside not in json.dumps(body)
    call(api, "DELETE", f"/v1/images/{inside}", tenant)
    assert public(api, made["url"])[1]["items"] == []  # the trash is never shown


def test_revoked_and_expired_links_are_404(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "short lived")
    revoked = share(api, tenant, {"type": "image", "id": image})
    assert call(api, "DELETE", f"/v1/shares/{revoked['id']}", tenant)[0] == 204
    status, body = public(api, revoked["url"])
    assert status == 404 and body["error"]["code"] == "not_found"
    expiring = share(api, tenant, {"type": "image", "id": image}, expires_at="2026-11-24T13:00:00Z")
    assert public(api, expiring["url"])[0] == 200
    frozen_clock.advance(hours=1)
    assert public(api, expiring["url"])[0] == 404
    assert call(api, "GET", "/s/" + "x" * 43)[0] == 404
    listed = call(api, "GET", "/v1/shares", tenant)[1]["data"]
    assert [s["id"] for s in listed] == [expiring["id"], revoked["id"]] and all(s["url"] is None for s in listed)
    assert listed[1]["revoked_at"] is not None


def test_public_reads_are_rate_limited_per_client(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    from chalicelib.library import shares as service

    tenant = make_tenant()
    (image,) = make_images(api, tenant, "popular")
    made = share(api, tenant, {"type": "image", "id": image})
    token = made["url"].rsplit("/s/", 1)[1]
    frozen_clock.advance(minutes=5)
    for _ in range(service.PUBLIC_READS_PER_MINUTE):
        service.open_share(token, "203.0.113.9")
    with pytest.raises(service.ShareRateLimited):
        service.open_share(token, "203.0.113.9")
    service.open_share(token, "198.51.100.1")  # another client is not affected
    frozen_clock.advance(minutes=1)
    service.open_share(token, "203.0.113.9")


def test_shares_need_manage_and_stay_in_their_workspace(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    member = member_of(owner, "member")
    (image,) = make_images(api, owner, "private work")
    status, body, _ = call(api, "POST", "/v1/shares", member, {"target": {"type": "image", "id": image}, "permission": "view"})
    assert status == 403, body
    made = share(api, owner, {"type": "image", "id": image})
    status, body, _ = call(api, "POST", "/v1/shares", stranger, {"target": {"type": "image", "id": image}, "permission": "view"})
    assert status == 404, body
    assert call(api, "DELETE", f"/v1/shares/{made['id']}", stranger)[0] == 404
    assert call(api, "GET", "/v1/shares", stranger)[1]["data"] == []
    assert public(api, made["url"])[0] == 200


def test_a_replayed_create_does_not_repeat_the_link(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "replayed share")
    body = {"target": {"type": "image", "id": image}, "permission": "view"}
    first = call(api, "POST", "/v1/shares", tenant, body, headers={"Idempotency-Key": "s1"})
    again = call(api, "POST", "/v1/shares", tenant, body, headers={"Idempotency-Key": "s1"})
    assert first[1]["share"]["url"] and again[1]["share"]["url"] is None
    assert again[1]["share"]["id"] == first[1]["share"]["id"] and len(call(api, "GET", "/v1/shares", tenant)[1]["data"]) == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"target": {"type": "image"}, "permission": "view"}, {"target": {"type": "album", "id": "x"}, "permission": "view"},
     {"target": {"type": "image", "id": "img_x"}, "permission": "edit"}, {"target": "img_x", "permission": "view"},
     {"target": {"type": "image", "id": "img_x"}, "permission": "view", "expires_at": "tomorrow"},
     {"target": {"type": "image", "id": "img_x"}, "permission": "view", "expires_at": "2020-01-01T00:00:00Z"},
     {"target": {"type": "image", "id": "img_x"}, "permission": "view", "show_prompt": "yes"},
     {"target": {"type": "collection", "id": "col_x"}, "permission": "view"}],
)  # fmt: skip
def test_bad_share_bodies_are_4xx_and_create_nothing(api: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    tenant = make_tenant()
    status, answer, _ = call(api, "POST", "/v1/shares", tenant, body)
    assert status in (400, 404) and answer["error"]["code"] in ("invalid_request", "not_found"), answer
    assert call(api, "GET", "/v1/shares", tenant)[1]["data"] == []
