"""Folders: nesting and paths, rename, moves (never into their own subtree), counts, deletes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.helpers import call
from tests.functional.library_helpers import ids_of, make_images

pytestmark = pytest.mark.usefixtures("aws")


def folder(api: Any, tenant: Any, name: str, parent_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name} if parent_id is None else {"name": name, "parent_id": parent_id}
    status, answer, _ = call(api, "POST", "/v1/folders", tenant, body)
    assert status == 201, answer
    return dict(answer["folder"])


def test_nested_folders_show_paths_and_list_by_parent(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    clients = folder(api, tenant, "Clients")
    acme = folder(api, tenant, "Acme", clients["id"])
    logos = folder(api, tenant, "Logos", acme["id"])
    assert logos["path"] == "/Clients/Acme/Logos" and logos["parent_id"] == acme["id"] and logos["image_count"] == 0
    assert logos["id"].startswith("fld_")
    status, body, _ = call(api, "GET", "/v1/folders", tenant)
    assert [f["id"] for f in body["data"]] == [clients["id"]]
    status, body, _ = call(api, "GET", f"/v1/folders?parent_id={acme['id']}", tenant)
    assert [f["path"] for f in body["data"]] == ["/Clients/Acme/Logos"]
    status, body, _ = call(api, "PATCH", f"/v1/folders/{acme['id']}", tenant, {"name": "Acme Inc"})
    assert status == 200 and body["folder"]["path"] == "/Clients/Acme Inc"
    status, body, _ = call(api, "GET", f"/v1/folders/{logos['id']}", tenant)
    assert body["folder"]["path"] == "/Clients/Acme Inc/Logos"


def test_a_move_into_its_own_subtree_is_409_and_changes_nothing(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    top = folder(api, tenant, "Top")
    child = folder(api, tenant, "Child", top["id"])
    grandchild = folder(api, tenant, "Grandchild", child["id"])
    for target in (top["id"], child["id"], grandchild["id"]):
        status, body, _ = call(api, "PATCH", f"/v1/folders/{top['id']}", tenant, {"parent_id": target})
        assert status == 409 and body["error"]["code"] == "conflict", body
    status, body, _ = call(api, "GET", f"/v1/folders/{top['id']}", tenant)
    assert body["folder"]["parent_id"] is None and body["folder"]["path"] == "/Top"
    status, body, _ = call(api, "PATCH", f"/v1/folders/{grandchild['id']}", tenant, {"parent_id": None})
    assert status == 200 and body["folder"]["path"] == "/Grandchild"
    status, body, _ = call(api, "PATCH", f"/v1/folders/{top['id']}", tenant, {"parent_id": grandchild["id"]})
    assert status == 200 and body["folder"]["path"] == "/Grandchild/Top"


def test_image_counts_follow_moves_and_folder_filter_lists_them(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    a, b = folder(api, tenant, "A"), folder(api, tenant, "B")
    first, second = make_images(api, tenant, "two pictures", 2)
    for image in (first, second):
        status, body, _ = call(api, "PATCH", f"/v1/images/{image}", tenant, {"folder_id": a["id"]})
        assert status == 200 and body["image"]["folder_id"] == a["id"]
    assert sorted(ids_of(api, tenant, f"?folder_id={a['id']}")) == sorted([first, second])
    call(api, "PATCH", f"/v1/images/{first}", tenant, {"folder_id": b["id"]})
    counts = {f["id"]: f["image_count"] for f in call(api, "GET", "/v1/folders", tenant)[1]["data"]}
    assert counts == {a["id"]: 1, b["id"]: 1}
    assert ids_of(api, tenant, f"?folder_id={b['id']}") == [first]
    call(api, "DELETE", f"/v1/images/{first}", tenant)
    assert ids_of(api, tenant, f"?folder_id={b['id']}") == []
    assert call(api, "GET", f"/v1/folders/{b['id']}", tenant)[1]["folder"]["image_count"] == 0
    status, body, _ = call(api, "POST", f"/v1/images/{first}/restore", tenant)
    assert body["image"]["folder_id"] == b["id"] and ids_of(api, tenant, f"?folder_id={b['id']}") == [first]


def test_delete_needs_an_empty_folder_or_recursive(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    top = folder(api, tenant, "Top")
    sub = folder(api, tenant, "Sub", top["id"])
    (image,) = make_images(api, tenant, "in a subfolder")
    call(api, "PATCH", f"/v1/images/{image}", tenant, {"folder_id": sub["id"]})
    for target in (top["id"], sub["id"]):
        status, body, _ = call(api, "DELETE", f"/v1/folders/{target}", tenant)
        assert status == 409 and body["error"]["code"] == "conflict", body
    status, _, _ = call(api, "DELETE", f"/v1/folders/{top['id']}?recursive=true", tenant)
    assert status == 204
    assert call(api, "GET", "/v1/folders", tenant)[1]["data"] == []
    assert ids_of(api, tenant) == [] and ids_of(api, tenant, "?trashed=true") == [image]
    status, body, _ = call(api, "POST", f"/v1/images/{image}/restore", tenant)
    assert status == 200 and body["image"]["folder_id"] is None  # its folder is gone: back to the root
    empty = folder(api, tenant, "Empty")
    assert call(api, "DELETE", f"/v1/folders/{empty['id']}", tenant)[0] == 204


def test_other_tenants_folders_are_not_found(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    theirs = folder(api, owner, "Private")
    (image,) = make_images(api, stranger, "stranger's image")
    for method, path, body in (
        ("GET", f"/v1/folders/{theirs['id']}", None),
        ("PATCH", f"/v1/folders/{theirs['id']}", {"name": "x"}),
        ("DELETE", f"/v1/folders/{theirs['id']}?recursive=true", None),
        ("GET", f"/v1/folders?parent_id={theirs['id']}", None),
        ("POST", "/v1/folders", {"name": "child", "parent_id": theirs["id"]}),
        ("PATCH", f"/v1/images/{image}", {"folder_id": theirs["id"]}),
    ):
        status, answer, _ = call(api, method, path, stranger, body)
        assert status == 404 and answer["error"]["code"] == "not_found", (method, path, answer)
    assert call(api, "GET", f"/v1/folders/{theirs['id']}", owner)[1]["folder"]["name"] == "Private"


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": "a/b"}, {"name": "x" * 101}, {"name": 5}, {"name": "ok", "parent_id": 1},
     {"name": "ok", "parent_id": "bad id"}, {"name": "ok", "extra": True}, {"name": "bad\u0000"}],
)  # fmt: skip
def test_bad_folder_bodies_are_400(api: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    tenant = make_tenant()
    status, answer, _ = call(api, "POST", "/v1/folders", tenant, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert call(api, "GET", "/v1/folders", tenant)[1]["data"] == []
