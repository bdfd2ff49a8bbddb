"""The operators' view of a workspace's library (admin page, workspace view): its images as its
members list them, its share links, and hiding one image from there (audited)."""

from __future__ import annotations

from typing import Any

from tests.functional.helpers import call
from tests.functional.library_helpers import ids_of, make_images


def _admin_ids(api: Any, admin: Any, workspace_id: str, query: str = "") -> list[str]:
    status, body, _ = call(api, "GET", f"/admin/api/workspaces/{workspace_id}/images{query}", admin)
    assert status == 200, body
    return [image["id"] for image in body["data"]]


def test_an_operator_sees_a_workspaces_images_and_shares_and_hides_one(api: Any, make_tenant: Any, admin: Any) -> None:
    tenant, other = make_tenant(), make_tenant()
    made = make_images(api, tenant, "a lighthouse at dawn", n=3)
    make_images(api, other, "someone else's picture")
    assert _admin_ids(api, admin, tenant.workspace_id) == ids_of(api, tenant) and sorted(made) == sorted(ids_of(api, tenant))
    # Pages with the same filters as the members' listing, under a cursor of their own.
    status, first, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/images?limit=2", admin)
    assert status == 200 and len(first["data"]) == 2 and first["next_cursor"]
    rest = _admin_ids(api, admin, tenant.workspace_id, f"?limit=2&cursor={first['next_cursor']}")
    assert [i["id"] for i in first["data"]] + rest == ids_of(api, tenant)
    assert call(api, "GET", f"/admin/api/workspaces/{other.workspace_id}/images?cursor={first['next_cursor']}", admin)[0] == 400

    target = made[0]
    status, share, _ = call(api, "POST", "/v1/shares", tenant, {"target": {"type": "image", "id": target}, "permission": "view"})
    assert status == 201, share
    status, shares, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/shares", admin)
    assert status == 200 and [s["id"] for s in shares["data"]] == [share["share"]["id"]]
    assert call(api, "GET", f"/admin/api/workspaces/{other.workspace_id}/shares", admin)[1]["data"] == []

    status, hidden, _ = call(
        api,
        "POST",
        f"/admin/api/images/{target}/hide",
        admin,
        {"reason": "reported by mail", "workspace_id": tenant.workspace_id},
    )
    assert status == 200 and hidden["changed"] is True, hidden
    listed = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/images", admin)[1]["data"]
    assert {i["id"]: i["hidden"] for i in listed} == {image: image == target for image in made}
    assert call(api, "GET", f"/v1/images/{target}", tenant)[1]["image"]["hidden"] is True  # the owner is told why
    token = share["share"]["url"].rsplit("/s/", 1)[1]
    assert call(api, "GET", f"/s/{token}")[0] == 404  # gone from the share link at once
    detail = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}", admin)[1]
    assert any(a["action"] == "gallery.hide_image" and a["reason"] == "reported by mail" for a in detail["audit"])


def test_only_operators_and_only_known_workspaces_and_filters(api: Any, make_tenant: Any, admin: Any) -> None:
    tenant = make_tenant()
    for path in ("images", "shares"):
        status, err, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/{path}", tenant)
        assert status == 403, err
        status, err, _ = call(api, "GET", f"/admin/api/workspaces/ws_01ZZZZZZZZZZZZZZZZZZZZZZZZ/{path}", admin)
        assert status == 404 and err["error"]["code"] == "not_found", err
        status, err, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/{path}?cursor=forged", admin)
        assert status == 400 and err["error"]["field"] == "cursor", err
    status, err, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/images?folder=fld_x", admin)
    assert status == 400 and err["error"]["field"] == "folder", err
    status, err, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/images?kind=painting", admin)
    assert status == 400 and err["error"]["field"] == "kind", err
