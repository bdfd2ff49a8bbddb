"""The library's images: listing with filters and cursors, edits, trash, tags, tenancy, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.helpers import call
from tests.functional.library_helpers import ids_of, make_images, member_of

pytestmark = pytest.mark.usefixtures("aws")


def test_generated_images_are_listed_newest_first_with_library_fields(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    first = make_images(api, tenant, "a red fox in snow", 2)
    second = make_images(api, tenant, "a blue whale at dawn")
    listed = ids_of(api, tenant)
    assert listed == [second[0], *sorted(first, reverse=True)]
    status, body, _ = call(api, "GET", f"/v1/images/{second[0]}", tenant)
    image = body["image"]
    assert status == 200
    assert image["prompt"] == "a blue whale at dawn" and image["kind"] == "generate" and image["provider"] == "local"
    assert image["tags"] == [] and image["folder_id"] is None and image["title"] is None
    assert image["visibility"] == "private" and image["trashed_at"] is None and image["url"].startswith("http")


def test_search_by_prompt_words_title_tags_and_facets(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (fox,) = make_images(api, tenant, "a red fox in snow")
    (whale,) = make_images(api, tenant, "a blue whale at dawn")
    assert ids_of(api, tenant, "?q=FOX") == [fox]
    assert ids_of(api, tenant, "?q=red+fox") == [fox]
    assert ids_of(api, tenant, "?q=red+whale") == []
    status, body, _ = call(
        api, "PATCH", f"/v1/images/{whale}", tenant, {"title": "Ocean giant", "tags": ["  Sea  Life ", "sea life", "Blue"]}
    )
    assert status == 200, body
    assert body["image"]["tags"] == ["sea life", "blue"] and body["image"]["title"] == "Ocean giant"
    assert ids_of(api, tenant, "?q=ocean") == [whale]
    assert ids_of(api, tenant, "?tag=Sea%20%20life") == [whale]
    assert ids_of(api, tenant, "?provider=local&model=local-v1") == [whale, fox]
    assert ids_of(api, tenant, "?kind=upload") == []
    status, body, _ = call(api, "GET", "/v1/tags", tenant)
    assert body["data"] == [{"name": "blue", "count": 1}, {"name": "sea life", "count": 1}]
    call(api, "PATCH", f"/v1/images/{whale}", tenant, {"tags": ["blue"]})
    status, body, _ = call(api, "GET", "/v1/tags", tenant)
    assert body["data"] == [{"name": "blue", "count": 1}]
    assert ids_of(api, tenant, "?tag=sea+life") == []


def test_cursor_pages_through_everything_once(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    made = make_images(api, tenant, "page me", 4) + make_images(api, tenant, "page me too", 3)
    seen: list[str] = []
    cursor = ""
    while True:
        status, body, _ = call(api, "GET", f"/v1/images?limit=2&q=page{cursor}", tenant)
        assert status == 200, body
        seen += [image["id"] for image in body["data"]]
        if not body["next_cursor"]:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    status, body, _ = call(api, "GET", "/v1/images?limit=2", tenant)
    status, body, _ = call(api, "GET", f"/v1/images?limit=2&q=other&cursor={body['next_cursor']}", tenant)
    assert status == 400 and body["error"]["field"] == "cursor"


def test_trash_hides_and_restore_brings_back(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "trash me")
    status, body, _ = call(api, "DELETE", f"/v1/images/{image}", tenant)
    assert status == 200 and body["image"]["trashed_at"] is not None
    assert ids_of(api, tenant) == [] and ids_of(api, tenant, "?q=trash") == []
    assert ids_of(api, tenant, "?trashed=true") == [image]
    status, body, _ = call(api, "POST", f"/v1/images/{image}/restore", tenant)
    assert status == 200 and body["image"]["trashed_at"] is None
    assert ids_of(api, tenant) == [image] and ids_of(api, tenant, "?trashed=true") == []


def test_other_tenants_images_are_not_found(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    (image,) = make_images(api, owner, "mine only")
    for method, path, body in (
        ("GET", f"/v1/images/{image}", None),
        ("PATCH", f"/v1/images/{image}", {"title": "stolen"}),
        ("DELETE", f"/v1/images/{image}", None),
        ("POST", f"/v1/images/{image}/restore", None),
    ):
        status, answer, _ = call(api, method, path, stranger, body)
        assert status == 404 and answer["error"]["code"] == "not_found", (method, answer)
        assert image in answer["error"]["message"]
    assert ids_of(api, stranger) == [] and ids_of(api, stranger, "?q=mine") == []
    status, body, _ = call(api, "GET", f"/v1/images/{image}", owner)
    assert body["image"]["title"] is None and body["image"]["trashed_at"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": 5},
        {"title": "x" * 201},
        {"tags": "red"},
        {"tags": None},
        {"tags": [""]},
        {"tags": ["   "]},
        {"tags": ["a#b"]},
        {"tags": ["x" * 41]},
        {"tags": [f"t{n}" for n in range(21)]},
        {"folder_id": 3},
        {"folder_id": "fld_nope"},
        {"folder_id": "../etc"},
        {"unknown": 1},
    ],
)
def test_bad_patch_is_400_or_404_and_changes_nothing(api: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "bad input target")
    _, before, _ = call(api, "GET", f"/v1/images/{image}", tenant)
    status, answer, _ = call(api, "PATCH", f"/v1/images/{image}", tenant, body)
    assert status in (400, 404), answer
    assert answer["error"]["code"] in ("invalid_request", "not_found") and "request_id" in answer["error"]
    _, after, _ = call(api, "GET", f"/v1/images/{image}", tenant)
    before["image"].pop("url"), after["image"].pop("url")
    assert before == after


@pytest.mark.parametrize(
    "query",
    ["?limit=0", "?limit=x", "?kind=nope", "?from=yesterday", "?from=2026-02-01&to=2026-01-01", "?trashed=maybe",
     "?provider=a%20b", "?folder_id=x%2Fy", "?q=" + "w" * 201, "?q=%20a%20", "?tag=%23", "?cursor=abc"],
)  # fmt: skip
def test_bad_listing_parameters_are_400(api: Any, make_tenant: Any, query: str) -> None:
    status, body, _ = call(api, "GET", f"/v1/images{query}", make_tenant())
    assert status == 400 and body["error"]["code"] == "invalid_request" and body["error"].get("field"), body


def test_unknown_ids_are_404(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    for image_id in ("img_01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "img_" + "Z" * 40):
        status, body, _ = call(api, "GET", f"/v1/images/{image_id}", tenant)
        assert status == 404 and body["error"]["code"] == "not_found"


def test_members_edit_their_own_images_admins_anyone_s_viewers_none(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    member, other, viewer = member_of(owner, "member"), member_of(owner, "member"), member_of(owner, "viewer")
    (own,) = make_images(api, member, "member made this")
    status, body, _ = call(api, "PATCH", f"/v1/images/{own}", member, {"title": "mine"})
    assert status == 200, body
    status, body, _ = call(api, "PATCH", f"/v1/images/{own}", other, {"title": "theirs"})
    assert status == 403 and body["error"]["code"] == "forbidden", body
    status, body, _ = call(api, "DELETE", f"/v1/images/{own}", other)
    assert status == 403, body
    status, body, _ = call(api, "PATCH", f"/v1/images/{own}", viewer, {"title": "viewer"})
    assert status == 403 and body["error"]["scope"] == "library:write", body
    assert ids_of(api, viewer) == [own]
    status, body, _ = call(api, "PATCH", f"/v1/images/{own}", owner, {"title": "by the owner"})
    assert status == 200 and body["image"]["title"] == "by the owner"
