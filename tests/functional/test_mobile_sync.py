"""Offline sync (WatermelonDB's protocol) over the library and templates: pulls from the change
log (created / updated / deleted, tombstones, pages), pushes through the library and template
services, 409 when a pushed record changed after the client's pull (nothing applied), and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import ids
from tests.functional.helpers import call
from tests.functional.library_helpers import make_images, member_of

TEMPLATE = {
    "name": "Sticker",
    "prompt": "a {animal} sticker",
    "variables": {"animal": {"type": "string"}},
    "visibility": "workspace",
}
IMG = "changes.images.updated.0"


@pytest.fixture(autouse=True)
def _no_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact timestamps here (the overlap has a test of its own)."""
    from chalicelib.settings import reset_settings

    monkeypatch.setenv("SYNC_OVERLAP_MS", "0")
    reset_settings()


def pull(api: Any, tenant: Any, last: int | None = None) -> dict[str, Any]:
    query = "" if last is None else f"?last_pulled_at={last}"
    status, body, _ = call(api, "GET", f"/v1/sync{query}", tenant)
    assert status == 200, body
    return dict(body)


def push(api: Any, tenant: Any, changes: dict[str, Any], last: int | None, status: int = 200) -> dict[str, Any]:
    got, body, _ = call(api, "POST", "/v1/sync", tenant, {"changes": changes, "last_pulled_at": last})
    assert got == status, body
    return dict(body)


def ids_in(pulled: dict[str, Any], table: str, kind: str) -> set[str]:
    rows = pulled["changes"][table][kind]
    return {row if isinstance(row, str) else row["id"] for row in rows}


def record(pulled: dict[str, Any], table: str, record_id: str) -> dict[str, Any]:
    for kind in ("created", "updated"):
        for row in pulled["changes"][table][kind]:
            if row["id"] == record_id:
                return dict(row)
    raise AssertionError(f"{table}:{record_id} not pulled")


def folder(api: Any, tenant: Any, name: str, parent_id: str | None = None) -> str:
    status, body, _ = call(api, "POST", "/v1/folders", tenant, {"name": name, "parent_id": parent_id})
    assert status == 201, body
    return str(body["folder"]["id"])


def test_a_first_pull_has_everything_as_created(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    t = make_tenant()
    (image,) = make_images(api, t, "a lighthouse at dusk")
    fld = folder(api, t, "Trips")
    assert call(api, "PATCH", f"/v1/images/{image}", t, {"title": "Dusk", "tags": ["sea"], "folder_id": fld})[0] == 200
    tpl = call(api, "POST", "/v1/templates", t, TEMPLATE)[1]["template"]["id"]
    pulled = pull(api, t)
    assert set(pulled["changes"]) == {"images", "folders", "tags", "templates"}
    assert ids_in(pulled, "images", "created") == {image}
    assert ids_in(pulled, "folders", "created") == {fld} and ids_in(pulled, "templates", "created") == {tpl}
    assert ids_in(pulled, "tags", "created") == {"sea"} and pulled["has_more"] is False
    shown = record(pulled, "images", image)
    assert shown["title"] == "Dusk" and json.loads(shown["tags"]) == ["sea"] and shown["folder_id"] == fld
    assert shown["prompt"] == "a lighthouse at dusk" and isinstance(shown["server_changed_at"], int)
    assert record(pulled, "tags", "sea")["count"] == 1 and record(pulled, "templates", tpl)["name"] == "Sticker"
    assert pulled["timestamp"] == int(frozen_clock.now().timestamp() * 1000)
    assert all(pulled["changes"][table]["updated"] == [] for table in pulled["changes"])


def test_an_incremental_pull_has_only_what_changed(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    t = make_tenant()
    first, second = make_images(api, t, "two foxes", n=2)
    old = folder(api, t, "Old")
    base = pull(api, t)
    assert pull(api, t, base["timestamp"])["changes"]["images"] == {"created": [], "updated": [], "deleted": []}
    frozen_clock.advance(seconds=1)
    call(api, "PATCH", f"/v1/images/{first}", t, {"title": "Renamed"})
    new = folder(api, t, "New")
    later = pull(api, t, base["timestamp"])
    assert ids_in(later, "images", "updated") == {first} and ids_in(later, "images", "created") == set()
    assert second not in str(later["changes"]["images"]) and old not in str(later["changes"]["folders"])
    assert ids_in(later, "folders", "created") == {new}
    assert record(later, "images", first)["title"] == "Renamed"


def test_deletions_are_tombstones(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    t = make_tenant()
    keep, gone = make_images(api, t, "a quiet harbour", n=2)
    call(api, "PATCH", f"/v1/images/{keep}", t, {"tags": ["boats"]})
    fld = folder(api, t, "Temporary")
    tpl = call(api, "POST", "/v1/templates", t, TEMPLATE)[1]["template"]["id"]
    base = pull(api, t)
    frozen_clock.advance(seconds=1)
    assert call(api, "DELETE", f"/v1/folders/{fld}", t)[0] == 204
    assert call(api, "DELETE", f"/v1/templates/{tpl}", t)[0] == 204
    assert call(api, "POST", "/v1/images/bulk", t, {"action": "delete_forever", "image_ids": [gone]})[0] == 200
    assert call(api, "DELETE", f"/v1/images/{keep}", t)[0] == 200  # to the trash: still a record
    assert call(api, "PATCH", f"/v1/images/{keep}", t, {"tags": []})[0] == 200  # the last "boats"
    later = pull(api, t, base["timestamp"])
    assert ids_in(later, "folders", "deleted") == {fld} and ids_in(later, "templates", "deleted") == {tpl}
    assert ids_in(later, "images", "deleted") == {gone} and ids_in(later, "tags", "deleted") == {"boats"}
    assert record(later, "images", keep)["trashed_at"] is not None


def test_another_members_private_template_is_never_pulled(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    colleague = member_of(t, "member")
    secret = call(api, "POST", "/v1/templates", colleague, {**TEMPLATE, "visibility": "private"})[1]["template"]["id"]
    shared = call(api, "POST", "/v1/templates", colleague, TEMPLATE)[1]["template"]["id"]
    pulled = pull(api, t)
    assert ids_in(pulled, "templates", "created") == {shared} and secret in ids_in(pulled, "templates", "deleted")
    assert secret in ids_in(pull(api, colleague), "templates", "created")


def test_pulls_are_per_workspace(api: Any, make_tenant: Any) -> None:
    t, other = make_tenant(), make_tenant()
    folder(api, t, "Mine")
    assert all(not pull(api, other)["changes"][table]["created"] for table in ("folders", "images", "tags", "templates"))


def test_a_full_page_says_has_more_and_never_splits_a_millisecond(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.mobile import sync_rules

    monkeypatch.setattr(sync_rules, "PULL_PAGE", 3)
    t = make_tenant()
    made = []
    for n in range(3):
        made.append(folder(api, t, f"A{n}"))  # three in one millisecond
    frozen_clock.advance(seconds=1)
    made += [folder(api, t, "B0"), folder(api, t, "B1")]
    first = pull(api, t)
    assert first["has_more"] is True and ids_in(first, "folders", "created") == set(made[:3])
    second = pull(api, t, first["timestamp"])
    assert second["has_more"] is False and ids_in(second, "folders", "updated") | ids_in(second, "folders", "created") == set(
        made[3:]
    )
    frozen_clock.advance(seconds=1)
    crowded = [folder(api, t, f"C{n}") for n in range(5)]  # more than a page in one millisecond: read whole
    third = pull(api, t, second["timestamp"])
    assert ids_in(third, "folders", "created") == set(crowded)


def test_the_overlap_sends_recent_changes_again_as_updated(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change whose transaction lands after a pull's read is still pulled next time."""
    from chalicelib.settings import reset_settings

    monkeypatch.setenv("SYNC_OVERLAP_MS", "5000")
    reset_settings()
    t = make_tenant()
    fld = folder(api, t, "Late")
    first = pull(api, t)
    assert first["timestamp"] == int(frozen_clock.now().timestamp() * 1000) - 5000
    frozen_clock.advance(seconds=1)
    again = pull(api, t, first["timestamp"])
    assert ids_in(again, "folders", "updated") == {fld} and ids_in(again, "folders", "created") == set()
    # what the client holds is what the server has: pushing it is no conflict
    held = record(again, "folders", fld)["server_changed_at"]
    push(api, t, {"folders": {"updated": [{"id": fld, "name": "Later", "server_changed_at": held}]}}, first["timestamp"])
    assert call(api, "GET", f"/v1/folders/{fld}", t)[1]["folder"]["name"] == "Later"


def test_push_applies_through_the_library_and_template_services(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    t = make_tenant()
    image, other = make_images(api, t, "a night market", n=2)
    for image_id in (image, other):
        call(api, "PATCH", f"/v1/images/{image_id}", t, {"tags": ["street", "night"]})
    tpl = call(api, "POST", "/v1/templates", t, TEMPLATE)[1]["template"]["id"]
    base = pull(api, t)
    frozen_clock.advance(seconds=1)
    new_folder, new_tpl = ids.new_id("fld"), ids.new_id("tpl")
    raw = record(base, "images", image)
    changes = {
        "images": {"updated": [{**raw, "title": "Market", "folder_id": new_folder, "_status": "updated", "_changed": "title"}]},
        "folders": {"created": [{"id": new_folder, "name": "Asia", "parent_id": None, "_status": "created"}]},
        "tags": {"deleted": ["night"]},
        "templates": {
            "created": [{"id": new_tpl, "name": "Mug", "prompt": "a mug", "tags": '["mugs"]', "visibility": "private"}],
            "updated": [{"id": tpl, "name": "Sticker sheet", "prompt": "a {animal} sticker", "visibility": "workspace"}],
        },
    }
    answer = push(api, t, changes, base["timestamp"])
    assert answer == {"ok": True, "applied": {"created": 2, "updated": 2, "deleted": 1}}
    shown = call(api, "GET", f"/v1/images/{image}", t)[1]["image"]
    assert shown["title"] == "Market" and shown["folder_id"] == new_folder and shown["tags"] == ["street"]
    assert call(api, "GET", f"/v1/images/{other}", t)[1]["image"]["tags"] == ["street"]
    assert call(api, "GET", f"/v1/folders/{new_folder}", t)[1]["folder"]["name"] == "Asia"
    assert call(api, "GET", f"/v1/templates/{new_tpl}", t)[1]["template"]["tags"] == ["mugs"]
    updated = call(api, "GET", f"/v1/templates/{tpl}", t)[1]["template"]
    assert updated["name"] == "Sticker sheet" and updated["version"] == 2
    after = pull(api, t, base["timestamp"])
    assert "night" in ids_in(after, "tags", "deleted") and new_folder in ids_in(after, "folders", "created")


def test_a_push_of_what_changed_after_the_pull_is_409_and_applies_nothing(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    t = make_tenant()
    (image,) = make_images(api, t, "a windmill")
    base = pull(api, t)
    frozen_clock.advance(seconds=1)
    call(api, "PATCH", f"/v1/images/{image}", t, {"title": "Server side"})  # meanwhile, online
    new_folder = ids.new_id("fld")
    changes = {
        "folders": {"created": [{"id": new_folder, "name": "Offline"}]},
        "images": {"updated": [{"id": image, "title": "Client side"}]},
    }
    body = push(api, t, changes, base["timestamp"], status=409)
    assert body["error"]["code"] == "conflict" and body["error"]["records"] == [f"images:{image}"]
    assert call(api, "GET", f"/v1/images/{image}", t)[1]["image"]["title"] == "Server side"
    assert call(api, "GET", f"/v1/folders/{new_folder}", t)[0] == 404
    fresh = pull(api, t, base["timestamp"])
    push(api, t, {"images": {"updated": [{"id": image, "title": "Client side"}]}}, fresh["timestamp"])
    assert call(api, "GET", f"/v1/images/{image}", t)[1]["image"]["title"] == "Client side"


def test_deleting_what_the_server_deleted_is_done(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    fld = folder(api, t, "Twice")
    base = pull(api, t)
    assert call(api, "DELETE", f"/v1/folders/{fld}", t)[0] == 204
    later = pull(api, t, base["timestamp"])
    push(api, t, {"folders": {"deleted": [fld]}}, later["timestamp"])


def test_folders_are_created_parents_first_and_deleted_children_first(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    parent, child = ids.new_id("fld"), ids.new_id("fld")
    created = {"created": [{"id": child, "name": "Child", "parent_id": parent}, {"id": parent, "name": "Parent"}]}
    push(api, t, {"folders": created}, pull(api, t)["timestamp"])
    assert call(api, "GET", f"/v1/folders/{child}", t)[1]["folder"]["path"] == "/Parent/Child"
    push(api, t, {"folders": {"deleted": [parent, child]}}, pull(api, t)["timestamp"])
    assert call(api, "GET", f"/v1/folders/{parent}", t)[0] == 404


def test_permissions_are_the_services(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    (image,) = make_images(api, t, "an owl")
    member, viewer = member_of(t, "member"), member_of(t, "viewer")
    last = pull(api, member)["timestamp"]
    new_folder = ids.new_id("fld")
    changes = {"folders": {"created": [{"id": new_folder, "name": "Mine"}]}, "images": {"updated": [{"id": image, "title": "x"}]}}
    body = push(api, member, changes, last, status=403)
    assert body["error"]["code"] == "forbidden"
    assert call(api, "GET", f"/v1/folders/{new_folder}", t)[0] == 404  # nothing applied
    assert push(api, viewer, {"folders": {"created": [{"id": new_folder, "name": "V"}]}}, last, status=403)
    assert call(api, "GET", "/v1/sync", viewer)[0] == 200
    stranger = make_tenant()
    body = push(api, stranger, {"images": {"updated": [{"id": image, "title": "stolen"}]}}, last, status=404)
    assert call(api, "GET", f"/v1/images/{image}", t)[1]["image"]["title"] != "stolen"


def test_a_replayed_push_answers_the_first_answer(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    last = pull(api, t)["timestamp"]
    body = {"changes": {"folders": {"created": [{"id": ids.new_id("fld"), "name": "Once"}]}}, "last_pulled_at": last}
    headers = {"Idempotency-Key": "sync-1"}
    first = call(api, "POST", "/v1/sync", t, body, headers)
    again = call(api, "POST", "/v1/sync", t, body, headers)
    assert first[0] == again[0] == 200 and first[1] == again[1] and again[2].get("Idempotent-Replayed") == "true"


BAD_PUSHES = [
    ({"changes": {}}, "last_pulled_at"),
    ({"changes": {"albums": {}}, "last_pulled_at": 1}, "changes.albums"),
    ({"changes": {"images": {"created": [{"id": "img_x"}]}}, "last_pulled_at": 1}, "changes.images.created"),
    ({"changes": {"tags": {"updated": [{"id": "sea"}]}}, "last_pulled_at": 1}, "changes.tags.updated"),
    ({"changes": {"folders": {"created": [{"id": "my-local-id", "name": "x"}]}}, "last_pulled_at": 1}, "changes.folders.created"),
    ({"changes": {"folders": {"created": [{"name": "x"}]}}, "last_pulled_at": 1}, "changes.folders.created.0.id"),
    ({"changes": {"folders": {"created": [{"id": "fld_" + "0" * 26}]}}, "last_pulled_at": 1}, "changes.folders.created.name"),
    ({"changes": {"folders": {"created": [{"id": "fld_" + "0" * 26, "name": " "}]}}, "last_pulled_at": 1}, "changes.folders"),
    ({"changes": {"templates": {"created": [{"id": "tpl_" + "0" * 26, "name": "n"}]}}, "last_pulled_at": 1}, "changes.templates"),
    ({"changes": {"folders": {"created": [{"id": 5}]}}, "last_pulled_at": 1}, "changes.folders.created.0.id"),
    ({"changes": {"images": {"updated": [{"id": "img_x", "tags": "not json"}]}}, "last_pulled_at": 1}, f"{IMG}.tags"),
    ({"changes": {"images": {"updated": [{"id": "img_x", "title": "t" * 201}]}}, "last_pulled_at": 1}, f"{IMG}.title"),
    ({"changes": {"images": {"deleted": "img_x"}}, "last_pulled_at": 1}, "changes.images.deleted"),
    ({"changes": {"tags": {"deleted": ["Not Normal"]}}, "last_pulled_at": 1}, "changes.tags.deleted"),
    ({"changes": {"images": {"updated": [{"id": "img_x", "tags": ["a"] * 21}]}}, "last_pulled_at": 1}, f"{IMG}.tags"),
    ({"changes": {"images": {"updated": [{"id": "img_x", "tags": '{"a": 1}'}]}}, "last_pulled_at": 1}, f"{IMG}.tags"),
    ({"changes": {"templates": {"updated": [{"id": "tpl_x", "variables": "[1]"}]}}, "last_pulled_at": 1}, "changes.templates"),
    ({"changes": {}, "last_pulled_at": -1}, "last_pulled_at"),
    ({"changes": {}, "last_pulled_at": "1"}, "last_pulled_at"),
    ({"changes": {}, "last_pulled_at": 1, "extra": True}, "extra"),
    ({"changes": {"folders": {"deleted": ["fld_" + "0" * 26] * 2}}, "last_pulled_at": 1}, "changes.folders.deleted"),
    ({"changes": {"templates": {"created": [{"id": "tpl_x", "name": "n", "prompt": "p"}]}}, "last_pulled_at": 1}, "changes"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PUSHES)
def test_bad_pushes_are_400_and_apply_nothing(api: Any, make_tenant: Any, body: dict[str, Any], field: str) -> None:
    t = make_tenant()
    before = pull(api, t)
    status, answer, _ = call(api, "POST", "/v1/sync", t, body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_request" and str(answer["error"].get("field", "")).startswith(field), answer
    assert pull(api, t, before["timestamp"])["changes"] == before["changes"]


def test_a_push_too_large_is_413(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    deleted = [ids.new_id("fld") for _ in range(300)]
    body = {"folders": {"deleted": deleted}, "templates": {"deleted": [ids.new_id("tpl") for _ in range(300)]}}
    status, answer, _ = call(api, "POST", "/v1/sync", t, {"changes": body, "last_pulled_at": 1})
    assert status == 413 and answer["error"]["code"] == "payload_too_large"
    status, answer, _ = call(api, "POST", "/v1/sync", t, {"changes": {"folders": {"deleted": deleted * 2}}, "last_pulled_at": 1})
    assert status == 400 and answer["error"]["field"] == "changes.folders.deleted"


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "99999999999999999", "4102444800001", "0x10"])
def test_bad_last_pulled_at_is_400(api: Any, make_tenant: Any, value: str) -> None:
    status, body, _ = call(api, "GET", f"/v1/sync?last_pulled_at={value}", make_tenant())
    assert status == 400 and body["error"]["field"] == "last_pulled_at"


def test_a_pull_older_than_the_tombstones_is_refused(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    old = int(frozen_clock.now().timestamp() * 1000) - 91 * 24 * 3600 * 1000
    status, body, _ = call(api, "GET", f"/v1/sync?last_pulled_at={old}", make_tenant())
    assert status == 409 and body["error"]["reason"] == "sync_expired" and "null" in body["error"]["message"]


@pytest.mark.parametrize("query", ["?since=5", "?last_pulled_at=5&x=1", "?=", "?limit=5"])
def test_unknown_query_parameters_are_400(api: Any, make_tenant: Any, query: str) -> None:
    t = make_tenant()
    status, body, _ = call(api, "GET", f"/v1/sync{query}", t)
    assert status == 400 and body["error"]["code"] == "invalid_request"
    if "limit" not in query:
        assert call(api, "GET", f"/v1/devices{query}", t)[0] == 400


def test_deleting_a_record_changed_just_before_the_pull_is_no_conflict(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole pull's timestamp is `now - overlap`, yet the client saw everything up to now: a
    deletion (no server_changed_at to send) of what changed within the overlap is not refused."""
    from chalicelib.settings import reset_settings

    monkeypatch.setenv("SYNC_OVERLAP_MS", "5000")
    reset_settings()
    t = make_tenant()
    (image,) = make_images(api, t, "a red kite")
    call(api, "PATCH", f"/v1/images/{image}", t, {"tags": ["kite"]})
    frozen_clock.advance(seconds=1)
    base = pull(api, t)
    frozen_clock.advance(seconds=1)
    push(api, t, {"tags": {"deleted": ["kite"]}}, base["timestamp"])
    assert call(api, "GET", f"/v1/images/{image}", t)[1]["image"]["tags"] == []


def test_the_backfill_brings_older_records_into_a_first_pull(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    """Rows written before offline sync (no sync_ms, no log row) reach a pull after `backfill-sync`, once."""
    from chalicelib.mobile.backfill import run
    from chalicelib.store.models import FolderModel, ImageModel, LibraryIndexModel, SyncChangeModel
    from tests.functional.library_helpers import seed_images

    t = make_tenant()
    (image,) = seed_images(t, 1)
    call(api, "PATCH", f"/v1/images/{image}", t, {"tags": ["old"]})
    fld = folder(api, t, "Old folder")
    tpl = call(api, "POST", "/v1/templates", t, TEMPLATE)[1]["template"]["id"]
    # as before offline sync existed: no stamps, no log rows
    ImageModel(t.workspace_id, image).update(actions=[ImageModel.sync_ms.remove()])
    LibraryIndexModel(f"{t.workspace_id}#tags", "old").update(actions=[LibraryIndexModel.sync_ms.remove()])
    for key in (f"folders:{fld}", f"templates:{tpl}"):
        SyncChangeModel(t.workspace_id, key).delete()
    assert all(not pull(api, t)["changes"][table]["created"] for table in ("images", "folders", "tags", "templates"))
    earlier = pull(api, t)["timestamp"]
    frozen_clock.advance(seconds=1)
    first = run()
    assert {k: first.added.get(k, 0) >= 1 for k in ("images", "tags", "folders", "templates")} == dict.fromkeys(
        ("images", "tags", "folders", "templates"), True
    )
    pulled = pull(api, t, earlier)
    assert ids_in(pulled, "images", "updated") | ids_in(pulled, "images", "created") == {image}
    assert fld in ids_in(pulled, "folders", "created") and tpl in ids_in(pulled, "templates", "created")
    assert "old" in ids_in(pulled, "tags", "updated")
    again = run()
    assert again.added.get("folders", 0) == 0 and again.added.get("templates", 0) == 0 and again.added.get("images", 0) == 0
    assert FolderModel.get(t.workspace_id, fld).name == "Old folder"


def test_null_columns_mean_unchanged_or_cleared(api: Any, make_tenant: Any) -> None:
    """Schemathesis found `tags: null` answered 500 (a length limit applied to null): null in a
    column that cannot be null leaves it as it is; title and folder_id are cleared by null."""
    t = make_tenant()
    (image,) = make_images(api, t, "a paper boat")
    call(api, "PATCH", f"/v1/images/{image}", t, {"title": "Boat", "tags": ["paper"]})
    last = pull(api, t)["timestamp"]
    record_ = {"id": image, "tags": None, "title": None, "folder_id": None, "server_changed_at": None}
    push(api, t, {"images": {"updated": [record_]}, "templates": {"created": [], "updated": []}}, last)
    shown = call(api, "GET", f"/v1/images/{image}", t)[1]["image"]
    assert shown["title"] is None and shown["tags"] == ["paper"]
