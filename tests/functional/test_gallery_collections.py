"""Collections: create, read, edit, items in the owner's order, covers, permissions, other tenants'
ids, bad input of every field, concurrent adds and removes, cursors."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.functional.gallery_helpers import add, collection, every_page, seed_images
from tests.functional.helpers import call
from tests.functional.library_helpers import member_of

pytestmark = pytest.mark.usefixtures("aws")


def items_of(api: Any, tenant: Any, collection_id: str) -> list[str]:
    return every_page(api, f"/v1/collections/{collection_id}/items", 100, tenant)


def read(api: Any, tenant: Any, collection_id: str) -> dict[str, Any]:
    status, body, _ = call(api, "GET", f"/v1/collections/{collection_id}", tenant)
    assert status == 200, body
    return dict(body["collection"])


def test_create_read_list_edit_delete(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    made = collection(api, tenant, name="  Summer   trip ", description="Best of")
    assert made["id"].startswith("col_") and made["name"] == "Summer trip" and made["visibility"] == "private"
    assert made["item_count"] == 0 and made["cover_image_id"] is None and made["description"] == "Best of"
    assert set(made) >= {"id", "name", "description", "visibility", "cover_image_id", "item_count", "created_at"}
    assert read(api, tenant, made["id"]) == made
    listed = call(api, "GET", "/v1/collections", tenant)[1]["data"]
    assert [c["id"] for c in listed] == [made["id"]]
    status, body, _ = call(api, "PATCH", f"/v1/collections/{made['id']}", tenant, {"name": "Autumn", "description": None})
    assert status == 200 and body["collection"]["name"] == "Autumn" and body["collection"]["description"] is None
    assert call(api, "DELETE", f"/v1/collections/{made['id']}", tenant)[0] == 204
    assert call(api, "GET", f"/v1/collections/{made['id']}", tenant)[0] == 404
    assert call(api, "DELETE", f"/v1/collections/{made['id']}", tenant)[0] == 404
    assert call(api, "GET", "/v1/collections", tenant)[1]["data"] == []


def test_items_keep_the_owners_order_and_a_cover(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    a, b, c, d = seed_images(tenant, ["one", "two", "three", "four"])
    made = collection(api, tenant)
    body = add(api, tenant, made["id"], [c, a])
    assert [r["ok"] for r in body["results"]] == [True, True]
    assert body["collection"]["item_count"] == 2 and body["collection"]["cover_image_id"] == c
    again = add(api, tenant, made["id"], [a, b, b, d])  # a is there already, b given twice: each added once
    assert [r["id"] for r in again["results"]] == [a, b, b, d] and all(r["ok"] for r in again["results"])
    assert items_of(api, tenant, made["id"]) == [c, a, b, d] and again["collection"]["item_count"] == 4
    status, body, _ = call(api, "PUT", f"/v1/collections/{made['id']}/order", tenant, {"image_ids": [d, c, b, a]})
    assert status == 200 and body["collection"]["cover_image_id"] == c
    assert items_of(api, tenant, made["id"]) == [d, c, b, a]
    status, body, _ = call(api, "PATCH", f"/v1/collections/{made['id']}", tenant, {"cover_image_id": b})
    assert status == 200 and body["collection"]["cover_image_id"] == b
    assert call(api, "DELETE", f"/v1/collections/{made['id']}/items/{b}", tenant)[0] == 204
    after = read(api, tenant, made["id"])
    assert after["cover_image_id"] == d and after["item_count"] == 3  # the cover left: the first item is
    assert items_of(api, tenant, made["id"]) == [d, c, a]
    status, body, _ = call(api, "DELETE", f"/v1/collections/{made['id']}/items/{b}", tenant)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_other_tenants_images_and_collections_are_not_found_and_nothing_leaks(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    (mine,) = seed_images(owner, ["mine"])
    (theirs,) = seed_images(stranger, ["secret stranger prompt"])
    made = collection(api, owner)
    body = add(api, owner, made["id"], [mine, theirs, "img_bogus", "img_" + "0" * 26])
    results = {r["id"]: r for r in body["results"]}
    assert results[mine]["ok"] and body["collection"]["item_count"] == 1
    for bad in (theirs, "img_bogus", "img_" + "0" * 26):
        assert not results[bad]["ok"] and results[bad]["error"]["code"] == "not_found"
    assert "secret stranger" not in json.dumps(body) and stranger.workspace_id not in json.dumps(body)
    path = f"/v1/collections/{made['id']}"
    for method, suffix, payload in (
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("DELETE", "", None),
        ("GET", "/items", None),
        ("POST", "/items", {"image_ids": [theirs]}),
        ("DELETE", f"/items/{mine}", None),
        ("PUT", "/order", {"image_ids": [mine]}),
    ):
        status, answer, _ = call(api, method, path + suffix, stranger, payload)
        assert status == 404 and answer["error"]["code"] == "not_found", (method, suffix, answer)
    assert call(api, "GET", "/v1/collections", stranger)[1]["data"] == []
    assert read(api, owner, made["id"])["item_count"] == 1 and items_of(api, owner, made["id"]) == [mine]


def test_trashed_images_are_refused_per_item_and_purged_ones_may_leave_the_order(api: Any, make_tenant: Any) -> None:
    from chalicelib.store.models import ImageModel

    tenant = make_tenant()
    kept, trashed, purged = seed_images(tenant, ["kept", "trashed", "purged"])
    made = collection(api, tenant)
    add(api, tenant, made["id"], [kept, purged])
    call(api, "DELETE", f"/v1/images/{trashed}", tenant)
    body = add(api, tenant, made["id"], [trashed])
    assert body["results"] == [
        {"id": trashed, "ok": False, "error": {"code": "conflict", "message": f"image {trashed} is in the trash"}}
    ]
    ImageModel(tenant.workspace_id, purged).delete()  # what the purge does 30 days after the trash
    assert items_of(api, tenant, made["id"]) == [kept]
    status, body, _ = call(api, "PUT", f"/v1/collections/{made['id']}/order", tenant, {"image_ids": [kept]})
    assert status == 200 and body["collection"]["item_count"] == 1


@pytest.mark.parametrize(
    ("order", "status", "field"),
    [
        (lambda a, b, c: [a, b], 409, "image_ids"),  # one missing
        (lambda a, b, c: [a, b, c, "img_other"], 409, "image_ids"),  # one too many
        (lambda a, b, c: [a, b, c, a], 400, "image_ids"),  # twice
        (lambda a, b, c: [], 409, "image_ids"),
    ],
)
def test_an_order_must_be_exactly_the_items(api: Any, make_tenant: Any, order: Any, status: int, field: str) -> None:
    tenant = make_tenant()
    a, b, c = seed_images(tenant, ["a", "b", "c"])
    made = collection(api, tenant)
    add(api, tenant, made["id"], [a, b, c])
    got, body, _ = call(api, "PUT", f"/v1/collections/{made['id']}/order", tenant, {"image_ids": order(a, b, c)})
    assert got == status and body["error"]["field"] == field, body
    if status == 409:
        assert "missing" in body["error"] and "unexpected" in body["error"]
    assert items_of(api, tenant, made["id"]) == [a, b, c]


def test_a_full_collection_refuses_the_whole_add(api: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from chalicelib.gallery import rules

    monkeypatch.setattr(rules, "MAX_ITEMS", 3)
    tenant = make_tenant()
    images = seed_images(tenant, ["a", "b", "c", "d"])
    made = collection(api, tenant)
    add(api, tenant, made["id"], images[:2])
    status, body, _ = call(api, "POST", f"/v1/collections/{made['id']}/items", tenant, {"image_ids": images[2:]})
    assert status == 409 and body["error"]["code"] == "conflict" and "1 more fit" in body["error"]["message"]
    assert read(api, tenant, made["id"])["item_count"] == 2
    assert add(api, tenant, made["id"], images[:3])["collection"]["item_count"] == 3  # re-adding is not growing


def test_roles_members_edit_their_own_and_only_managers_show_the_public(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    member, viewer, admin = member_of(owner, "member"), member_of(owner, "viewer"), member_of(owner, "admin")
    (image,) = seed_images(owner, ["team"])
    for visibility in ("public", "unlisted"):
        status, body, _ = call(api, "POST", "/v1/collections", member, {"name": "x", "visibility": visibility})
        assert status == 403 and body["error"]["scope"] == "library:manage", body
    mine = collection(api, member, name="member's")
    add(api, member, mine["id"], [image])  # any image of the workspace
    status, body, _ = call(api, "PATCH", f"/v1/collections/{mine['id']}", member, {"visibility": "unlisted"})
    assert status == 403 and body["error"]["scope"] == "library:manage"
    owners = collection(api, owner, name="owner's")
    assert call(api, "PATCH", f"/v1/collections/{owners['id']}", member, {"name": "mine now"})[0] == 403
    assert call(api, "DELETE", f"/v1/collections/{owners['id']}", member)[0] == 403
    assert call(api, "POST", f"/v1/collections/{owners['id']}/items", member, {"image_ids": [image]})[0] == 403
    assert call(api, "POST", "/v1/collections", viewer, {"name": "x", "visibility": "private"})[0] == 403
    assert read(api, viewer, mine["id"])["item_count"] == 1  # reading is everyone's
    status, body, _ = call(api, "PATCH", f"/v1/collections/{mine['id']}", admin, {"visibility": "public", "name": "Shown"})
    assert status == 200 and body["collection"]["visibility"] == "public"
    assert read(api, owner, owners["id"])["name"] == "owner's"


@pytest.mark.parametrize(
    ("method", "suffix", "body", "field"),
    [
        ("POST", "", {}, "name"),
        ("POST", "", {"name": "x"}, "visibility"),
        ("POST", "", {"name": "", "visibility": "private"}, "name"),
        ("POST", "", {"name": "   ", "visibility": "private"}, "name"),
        ("POST", "", {"name": "x" * 101, "visibility": "private"}, "name"),
        ("POST", "", {"name": "a\x00b", "visibility": "private"}, "name"),
        ("POST", "", {"name": 5, "visibility": "private"}, "name"),
        ("POST", "", {"name": "x", "visibility": "secret"}, "visibility"),
        ("POST", "", {"name": "x", "visibility": "private", "description": "d" * 1001}, "description"),
        ("POST", "", {"name": "x", "visibility": "private", "description": 3}, "description"),
        ("POST", "", {"name": "x", "visibility": "private", "owner": "me"}, "owner"),
        ("PATCH", "/{c}", {}, None),
        ("PATCH", "/{c}", {"name": None}, None),
        ("PATCH", "/{c}", {"visibility": None}, None),
        ("PATCH", "/{c}", {"cover_image_id": "img_notanitem"}, "cover_image_id"),
        ("PATCH", "/{c}", {"cover_image_id": "../x"}, "cover_image_id"),
        ("POST", "/{c}/items", {}, "image_ids"),
        ("POST", "/{c}/items", {"image_ids": []}, "image_ids"),
        ("POST", "/{c}/items", {"image_ids": "img_x"}, "image_ids"),
        ("POST", "/{c}/items", {"image_ids": [1]}, "image_ids.0"),
        ("POST", "/{c}/items", {"image_ids": ["img_x"] * 101}, "image_ids"),
        ("POST", "/{c}/items", {"image_ids": ["a b"]}, "image_ids.0"),
        ("PUT", "/{c}/order", {}, "image_ids"),
        ("PUT", "/{c}/order", {"image_ids": ["img_x"] * 1001}, "image_ids"),
        ("PUT", "/{c}/order", {"image_ids": [None]}, "image_ids.0"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    api: Any, make_tenant: Any, method: str, suffix: str, body: dict[str, Any], field: str | None
) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, ["kept"])
    made = collection(api, tenant, name="Before")
    add(api, tenant, made["id"], [image])
    before = read(api, tenant, made["id"])
    status, answer, _ = call(api, method, "/v1/collections" + suffix.format(c=made["id"]), tenant, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    if field is not None:
        assert answer["error"]["field"] == field, answer
    assert read(api, tenant, made["id"]) == before
    assert [c["id"] for c in call(api, "GET", "/v1/collections", tenant)[1]["data"]] == [made["id"]]


def test_malformed_bodies_and_unknown_parameters(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    for raw in ("[]", "null", "{", '"x"'):
        status, body, _ = call(api, "POST", "/v1/collections", tenant, raw=raw)
        assert status == 400 and body["error"]["code"] == "invalid_request", raw
    assert call(api, "GET", "/v1/collections?sort=new", tenant)[1]["error"]["field"] == "sort"
    for limit in ("0", "101", "x"):
        assert call(api, "GET", f"/v1/collections?limit={limit}", tenant)[0] == 400
    assert call(api, "GET", "/v1/collections/col_x", tenant)[0] == 404
    assert call(api, "GET", "/v1/collections/col_x/items", tenant)[0] == 404


def test_concurrent_adds_and_removes_keep_item_count_exact(api: Any, make_tenant: Any) -> None:
    """Threads add and remove at once: every answered change is kept, none is lost, and the count
    is always the list's length (conditional writes on the version; losers re-read)."""
    from chalicelib.gallery import collections as service
    from chalicelib.library.images import Actor

    tenant = make_tenant()
    images = seed_images(tenant, [f"racer {n}" for n in range(24)])
    made = collection(api, tenant)
    add(api, tenant, made["id"], images[:8])
    actor = Actor(tenant.workspace_id, tenant.user_id, True)
    outcomes: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        ops = [("add", images[8 + 2 * n]), ("remove", images[n]), ("add", images[9 + 2 * n])]
        for op, image_id in ops:
            try:
                if op == "add":
                    service.add_items(actor, made["id"], [image_id])
                else:
                    service.remove_item(actor, made["id"], image_id)
                result = "ok"
            except service.CollectionBusy:
                result = "busy"
            with lock:
                outcomes.append((op, image_id, result))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = set(images[:8])
    for op, image_id, result in outcomes:
        if result == "ok":
            expected = expected | {image_id} if op == "add" else expected - {image_id}
    final = read(api, tenant, made["id"])
    listed = items_of(api, tenant, made["id"])
    assert final["item_count"] == len(listed) == len(set(listed))
    assert set(listed) == expected, outcomes
    assert sum(1 for *_, r in outcomes if r == "ok") >= len(outcomes) - 2  # contention rarely outlasts the retries


def test_pages_follow_cursors_to_the_end_and_forged_cursors_are_refused(api: Any, make_tenant: Any) -> None:
    tenant, other = make_tenant(), make_tenant()
    made = [collection(api, tenant, name=f"c{n}")["id"] for n in range(23)]
    assert every_page(api, "/v1/collections", 5, tenant) == list(reversed(made))
    images = seed_images(tenant, [f"p{n}" for n in range(17)])
    add(api, tenant, made[0], images)
    assert every_page(api, f"/v1/collections/{made[0]}/items", 4, tenant) == images
    cursor = call(api, "GET", "/v1/collections?limit=5", tenant)[1]["next_cursor"]
    payload, mac = cursor.split(".")
    for forged in (f"{payload}.{mac[:-2]}AA", f"e30.{mac}", "abc", cursor + "x"):
        status, body, _ = call(api, "GET", f"/v1/collections?cursor={forged}", tenant)
        assert status == 400 and body["error"]["field"] == "cursor", forged
    assert call(api, "GET", f"/v1/collections?cursor={cursor}", other)[0] == 400  # another tenant's
    items_cursor = call(api, "GET", f"/v1/collections/{made[0]}/items?limit=4", tenant)[1]["next_cursor"]
    assert call(api, "GET", f"/v1/collections/{made[1]}/items?cursor={items_cursor}", tenant)[0] == 400  # another collection's
    assert call(api, "GET", f"/v1/collections?cursor={items_cursor}", tenant)[0] == 400  # another listing's


def test_a_replayed_create_and_add_change_nothing_more(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, ["once"])
    body = {"name": "Once", "visibility": "private"}
    first = call(api, "POST", "/v1/collections", tenant, body, headers={"Idempotency-Key": "c1"})
    again = call(api, "POST", "/v1/collections", tenant, body, headers={"Idempotency-Key": "c1"})
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert len(call(api, "GET", "/v1/collections", tenant)[1]["data"]) == 1
    path = f"/v1/collections/{first[1]['collection']['id']}/items"
    one = call(api, "POST", path, tenant, {"image_ids": [image]}, headers={"Idempotency-Key": "i1"})
    two = call(api, "POST", path, tenant, {"image_ids": [image]}, headers={"Idempotency-Key": "i1"})
    assert one[1] == two[1] and two[2].get("Idempotent-Replayed") == "true"
    other = call(api, "POST", path, tenant, {"image_ids": ["img_other"]}, headers={"Idempotency-Key": "i1"})
    assert other[0] == 409 and other[1]["error"]["code"] == "idempotency_conflict"
