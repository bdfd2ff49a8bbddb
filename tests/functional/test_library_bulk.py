"""Bulk operations: 500 ids with bad, foreign and duplicate ones mixed in, replays, races, cost."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from chalicelib.store.request_counter import RequestCounter
from tests.functional.helpers import call
from tests.functional.library_helpers import ids_of, member_of, seed_images

pytestmark = pytest.mark.usefixtures("aws")


class TransactionTokens:
    """The distinct transactions sent (by ClientRequestToken), whatever retries happened."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, request: Any = None, **kwargs: Any) -> None:
        target = (request.headers.get("X-Amz-Target") or b"").decode()
        if target.endswith("TransactWriteItems"):
            self.seen.add(json.loads(request.body)["ClientRequestToken"])

    def install(self) -> None:
        from chalicelib.store.transaction import _connection

        _connection().client.meta.events.register("before-send.dynamodb.*", self)

    def uninstall(self) -> None:
        from chalicelib.store.transaction import _connection

        _connection().client.meta.events.unregister("before-send.dynamodb.*", self)


def folder_id(api: Any, tenant: Any, name: str) -> str:
    status, body, _ = call(api, "POST", "/v1/folders", tenant, {"name": name})
    assert status == 201, body
    return str(body["folder"]["id"])


def counts(api: Any, tenant: Any) -> dict[str, int]:
    return {f["name"]: f["image_count"] for f in call(api, "GET", "/v1/folders?limit=100", tenant)[1]["data"]}


def all_ids(api: Any, tenant: Any, query: str) -> list[str]:
    found: list[str] = []
    cursor = ""
    while True:
        status, body, _ = call(api, "GET", f"/v1/images?limit=100{query}{cursor}", tenant)
        assert status == 200, body
        found += [image["id"] for image in body["data"]]
        if not body["next_cursor"]:
            return found
        cursor = f"&cursor={body['next_cursor']}"


def test_500_item_move_with_bad_foreign_and_duplicate_ids(api: Any, make_tenant: Any) -> None:
    tenant, stranger = make_tenant(), make_tenant()
    mine = seed_images(tenant, 490)
    foreign = seed_images(stranger, 5)
    target = folder_id(api, tenant, "Target")
    given = [*mine[:200], "not-an-id", *foreign, mine[0], *mine[200:], "img_01ARZ3NDEKTSV4RRFFQ69G5FAV", mine[1]]
    given = given[:500]
    counter, tokens = RequestCounter(), TransactionTokens()
    counter.install()
    tokens.install()
    try:
        status, body, _ = call(
            api, "POST", "/v1/images/bulk", tenant, {"action": "move", "image_ids": given, "folder_id": target}
        )
    finally:
        counter.uninstall()
        tokens.uninstall()
    assert status == 200, body
    results = body["results"]
    assert [r["id"] for r in results] == given
    by_id = {r["id"]: r for r in results if r["ok"]}
    assert set(by_id) == set(mine[: len(by_id)]) or set(by_id) <= set(mine)
    failed = [r for r in results if not r["ok"]]
    codes = sorted(r["error"]["code"] for r in failed)
    assert codes.count("not_found") == 6 and codes.count("invalid_request") == len(failed) - 6, failed
    moved = [image_id for image_id in mine if image_id in by_id]
    assert counts(api, tenant) == {"Target": len(moved)}
    assert sorted(all_ids(api, tenant, f"&folder_id={target}")) == sorted(moved)
    assert all_ids(api, stranger, "&q=seeded") and not any(i in by_id for i in foreign)
    # batched: rows read 100 at a time, edits committed 100 items at a time
    # (a retry of the same transaction, e.g. after a read timeout on a loaded moto, reuses its token)
    assert len(tokens.seen) == -(-len(moved) // 99), counter.calls
    assert counter.calls["BatchGetItem"] <= 6 and counter.calls["Scan"] == 0, counter.calls


def test_tag_untag_trash_restore_delete_forever(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    images = seed_images(tenant, 6)

    def bulk(action: str, ids: list[str], **extra: Any) -> list[dict[str, Any]]:
        status, body, _ = call(api, "POST", "/v1/images/bulk", tenant, {"action": action, "image_ids": ids, **extra})
        assert status == 200, body
        return list(body["results"])

    assert all(r["ok"] for r in bulk("tag", images, tags=["Red", "big  cat"]))
    assert sorted(all_ids(api, tenant, "&tag=big+cat")) == sorted(images)
    bulk("untag", images[:2], tags=["red"])
    assert {t["name"]: t["count"] for t in call(api, "GET", "/v1/tags", tenant)[1]["data"]} == {"big cat": 6, "red": 4}
    bulk("trash", images[:3])
    assert sorted(all_ids(api, tenant, "&trashed=true")) == sorted(images[:3])
    bulk("restore", images[:1])
    results = bulk("delete_forever", images[1:3])
    assert all(r["ok"] for r in results)
    assert sorted(all_ids(api, tenant, "")) == sorted([images[0], *images[3:]])
    assert all_ids(api, tenant, "&trashed=true") == []
    gone = bulk("restore", images[1:3])
    assert [r["error"]["code"] for r in gone] == ["not_found", "not_found"]
    assert {t["name"]: t["count"] for t in call(api, "GET", "/v1/tags", tenant)[1]["data"]} == {"big cat": 4, "red": 3}


def test_a_replay_with_the_same_idempotency_key_changes_nothing(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    images = seed_images(tenant, 3)
    a, b = folder_id(api, tenant, "A"), folder_id(api, tenant, "B")
    key = {"Idempotency-Key": "bulk-move-1"}
    body = {"action": "move", "image_ids": images, "folder_id": a}
    first = call(api, "POST", "/v1/images/bulk", tenant, body, headers=key)
    call(api, "POST", "/v1/images/bulk", tenant, {"action": "move", "image_ids": images, "folder_id": b})
    replay = call(api, "POST", "/v1/images/bulk", tenant, body, headers=key)
    assert replay[0] == 200 and replay[1] == first[1] and replay[2].get("Idempotent-Replayed") == "true"
    assert counts(api, tenant) == {"A": 0, "B": 3}
    other = call(api, "POST", "/v1/images/bulk", tenant, {**body, "folder_id": b}, headers=key)
    assert other[0] == 409 and other[1]["error"]["code"] == "idempotency_conflict"


def test_concurrent_bulk_moves_of_the_same_images_stay_consistent(api: Any, make_tenant: Any) -> None:
    from chalicelib.library import bulk as bulk_service
    from chalicelib.library.images import Actor

    tenant = make_tenant()
    images = seed_images(tenant, 60)
    folders = {name: folder_id(api, tenant, name) for name in ("A", "B", "C", "D")}
    actor = Actor(tenant.workspace_id, tenant.user_id, manage=True)
    outcomes: list[Any] = []

    def move(name: str) -> None:
        outcomes.append(bulk_service.bulk(actor, "move", list(images), folders[name]))

    threads = [threading.Thread(target=move, args=(name,)) for name in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4
    placed = {name: sorted(all_ids(api, tenant, f"&folder_id={fid}")) for name, fid in folders.items()}
    assert sorted(i for ids in placed.values() for i in ids) == sorted(images)  # each image in exactly one folder
    assert counts(api, tenant) == {name: len(ids) for name, ids in placed.items()}
    for image in images[:5]:
        where = call(api, "GET", f"/v1/images/{image}", tenant)[1]["image"]["folder_id"]
        assert image in placed[next(n for n, f in folders.items() if f == where)]


def test_members_bulk_only_their_own_images(api: Any, make_tenant: Any) -> None:
    owner = make_tenant()
    member = member_of(owner, "member")
    owners, members = seed_images(owner, 2), seed_images(member, 2, user_id=member.user_id)
    status, body, _ = call(api, "POST", "/v1/images/bulk", member, {"action": "trash", "image_ids": owners + members})
    assert [r["ok"] for r in body["results"]] == [False, False, True, True]
    assert body["results"][0]["error"]["code"] == "forbidden"
    assert sorted(ids_of(api, owner)) == sorted(owners)


@pytest.mark.parametrize(
    "body",
    [{}, {"action": "move"}, {"action": "paint", "image_ids": ["img_x"]}, {"action": "move", "image_ids": []},
     {"action": "move", "image_ids": ["a"] * 501}, {"action": "tag", "image_ids": ["img_x"]},
     {"action": "tag", "image_ids": ["img_x"], "tags": []}, {"action": "trash", "image_ids": ["img_x"], "tags": ["a"]},
     {"action": "trash", "image_ids": ["img_x"], "folder_id": "fld_x"}, {"action": "move", "image_ids": "img_x"},
     {"action": "move", "image_ids": [5]}, {"action": "tag", "image_ids": ["img_x"], "tags": ["#"]},
     {"action": "move", "image_ids": ["img_x"], "folder_id": "fld_01ARZ3NDEKTSV4RRFFQ69G5FAV"}],
)  # fmt: skip
def test_bad_bulk_bodies_change_nothing(api: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    tenant = make_tenant()
    status, answer, _ = call(api, "POST", "/v1/images/bulk", tenant, body)
    assert status in (400, 404) and answer["error"]["code"] in ("invalid_request", "not_found"), json.dumps(answer)
