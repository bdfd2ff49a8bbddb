"""Exports: a zip of chosen images or a folder, built by the exports worker in object storage.

Tries to break it: another tenant's ids and folders (404, nothing queued, nothing zipped),
trashed images, the same SQS message twice (one zip, one event), a crash between the upload and
the status change (the re-run converges), a build that keeps failing, the pending cap, the size
bounds, bad input of every field, expiry and the deadline sweep, and a zip larger than one part
streamed with bounded memory.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib import tasks
from chalicelib.library import objects, rules
from chalicelib.store import exports as export_store
from tests.functional.export_helpers import (
    create,
    download_zip,
    export_of,
    pending,
    run_exports_worker,
    take_messages,
)
from tests.functional.helpers import call
from tests.functional.library_helpers import make_images, seed_images
from tests.functional.webhook_helpers import CapturedQueue

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture()
def events(monkeypatch: pytest.MonkeyPatch) -> CapturedQueue:
    """Every webhooks-queue message sent (export.ready among them), kept instead of sent."""
    captured = CapturedQueue()
    monkeypatch.setattr("chalicelib.webhooks.queue.send", captured.send)
    return captured


@pytest.fixture()
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of every zip upload started (one entry per multipart upload)."""
    started: list[str] = []
    original = objects.PartWriter.__init__

    def spy(self: Any, key: str, content_type: str, metadata: dict[str, str]) -> None:
        started.append(key)
        original(self, key, content_type, metadata)

    monkeypatch.setattr(objects.PartWriter, "__init__", spy)
    return started


def ready_events(captured: CapturedQueue, export_id: str) -> list[dict[str, Any]]:
    return [m for m, _ in captured.sent if m.get("event_type") == "export.ready" and m["data"]["export"]["id"] == export_id]


def build(export_id: str, receive_count: int = 1) -> dict[str, Any]:
    messages = take_messages(export_id)
    assert messages, f"no message for {export_id}"
    return run_exports_worker(messages, receive_count)


def test_export_of_chosen_images_is_a_zip_of_their_originals(api: Any, make_tenant: Any, events: CapturedQueue) -> None:
    tenant = make_tenant()
    first, second = make_images(api, tenant, "a red fox in snow", 2)
    call(api, "PATCH", f"/v1/images/{first}", tenant, {"title": "Fox / hero", "tags": ["launch"]})
    made = create(api, tenant, {"image_ids": [first, second]})
    assert made["id"].startswith("exp_") and made["status"] == "queued" and made["url"] is None
    assert made["image_count"] == 2 and made["bytes"] > 0 and pending(tenant.workspace_id) == 1
    assert build(made["id"]) == {"batchItemFailures": []}
    done = export_of(api, tenant, made["id"])
    assert done["status"] == "ready" and done["included"] == 2 and done["error"] is None
    assert done["url"] and done["url_expires_at"] and done["expires_at"] and done["zip_bytes"] > done["bytes"]
    archive = download_zip(done["url"])
    assert archive.namelist() == ["Fox _ hero.png", f"{second}.png", "manifest.json"]
    for name, image_id in (("Fox _ hero.png", first), (f"{second}.png", second)):
        url = call(api, "GET", f"/v1/images/{image_id}", tenant)[1]["image"]["url"]
        assert archive.read(name) == requests.get(url, timeout=10).content
    manifest = json.loads(archive.read("manifest.json"))
    assert [i["id"] for i in manifest["images"]] == [first, second] and manifest["skipped"] == []
    assert manifest["images"][0]["tags"] == ["launch"] and manifest["images"][0]["prompt"] == "a red fox in snow"
    assert pending(tenant.workspace_id) == 0
    (event,) = ready_events(events, made["id"])
    assert event["workspace_id"] == tenant.workspace_id and event["data"]["export"]["image_count"] == 2
    listed = call(api, "GET", "/v1/exports", tenant)[1]["data"]
    assert [e["id"] for e in listed] == [made["id"]] and listed[0]["status"] == "ready"


def test_export_of_a_folder_holds_its_live_images_only(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    inside, trashed, outside = make_images(api, tenant, "folder export", 3)
    folder = call(api, "POST", "/v1/folders", tenant, {"name": "Showcase"})[1]["folder"]["id"]
    for image in (inside, trashed):
        assert call(api, "PATCH", f"/v1/images/{image}", tenant, {"folder_id": folder})[0] == 200
    assert call(api, "DELETE", f"/v1/images/{trashed}", tenant)[0] == 200
    made = create(api, tenant, {"folder_id": folder})
    assert made["folder_id"] == folder and made["image_count"] == 1
    build(made["id"])
    archive = download_zip(export_of(api, tenant, made["id"])["url"])
    assert archive.namelist() == [f"{inside}.png", "manifest.json"]
    empty = call(api, "POST", "/v1/folders", tenant, {"name": "Empty"})[1]["folder"]["id"]
    status, body, _ = call(api, "POST", "/v1/exports", tenant, {"folder_id": empty})
    assert status == 400 and body["error"]["field"] == "folder_id"
    assert outside  # never part of the folder's zip


def test_another_tenants_images_and_folders_are_not_found_and_nothing_is_queued(api: Any, make_tenant: Any) -> None:
    owner, other = make_tenant(), make_tenant()
    (image,) = make_images(api, owner, "private picture")
    folder = call(api, "POST", "/v1/folders", owner, {"name": "Private"})[1]["folder"]["id"]
    call(api, "PATCH", f"/v1/images/{image}", owner, {"folder_id": folder})
    (theirs,) = seed_images(other, 1)
    for body in ({"image_ids": [image]}, {"image_ids": [theirs, image]}, {"folder_id": folder}):
        status, answer, _ = call(api, "POST", "/v1/exports", other, body)
        assert status == 404 and answer["error"]["code"] == "not_found", answer
        assert owner.workspace_id not in json.dumps(answer)
    assert call(api, "GET", "/v1/exports", other)[1]["data"] == [] and pending(other.workspace_id) == 0
    made = create(api, owner, {"image_ids": [image]})
    status, body, _ = call(api, "GET", f"/v1/exports/{made['id']}", other)
    assert status == 404 and body["error"]["code"] == "not_found"
    assert call(api, "GET", "/v1/exports", other)[1]["data"] == []
    assert take_messages(made["id"])  # the owner's export, and only it, was queued


def test_trashed_images_are_refused_or_left_out(api: Any, make_tenant: Any, events: CapturedQueue) -> None:
    tenant = make_tenant()
    kept, later, gone = make_images(api, tenant, "trash and export", 3)
    call(api, "DELETE", f"/v1/images/{gone}", tenant)
    status, body, _ = call(api, "POST", "/v1/exports", tenant, {"image_ids": [kept, gone]})
    assert status == 404 and gone in body["error"]["message"] and pending(tenant.workspace_id) == 0
    made = create(api, tenant, {"image_ids": [kept, later]})
    call(api, "DELETE", f"/v1/images/{later}", tenant)  # trashed after the request, before the build
    build(made["id"])
    done = export_of(api, tenant, made["id"])
    assert (done["status"], done["included"]) == ("ready", 1)
    archive = download_zip(done["url"])
    assert archive.namelist() == [f"{kept}.png", "manifest.json"]
    assert json.loads(archive.read("manifest.json"))["skipped"] == [later]
    nothing = create(api, tenant, {"image_ids": [kept]})
    call(api, "DELETE", f"/v1/images/{kept}", tenant)
    build(nothing["id"])
    failed = export_of(api, tenant, nothing["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "no_images" and failed["url"] is None
    assert pending(tenant.workspace_id) == 0 and ready_events(events, nothing["id"]) == []


def test_the_same_message_twice_makes_one_zip_and_one_event(
    api: Any, make_tenant: Any, events: CapturedQueue, builds: list[str]
) -> None:
    tenant = make_tenant()
    images = make_images(api, tenant, "duplicate delivery", 2)
    made = create(api, tenant, {"image_ids": images})
    (message,) = take_messages(made["id"])
    duplicate = {**message, "MessageId": "another-copy"}
    first = run_exports_worker([message, duplicate])  # both copies in one batch
    assert first["batchItemFailures"] in ([], [{"itemIdentifier": "another-copy"}])
    again = run_exports_worker([message])  # and once more, later
    assert again == {"batchItemFailures": []}
    assert builds == [f"exports/{tenant.workspace_id}/{made['id']}.zip"]
    assert len(ready_events(events, made["id"])) == 1
    assert export_of(api, tenant, made["id"])["status"] == "ready" and pending(tenant.workspace_id) == 0


def test_a_crash_between_the_upload_and_ready_converges_on_the_next_delivery(
    api: Any, make_tenant: Any, events: CapturedQueue, builds: list[str], frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()
    images = make_images(api, tenant, "crash after upload", 2)
    made = create(api, tenant, {"image_ids": images})
    (message,) = take_messages(made["id"])
    real_finish = export_store.finish

    def crash(export: Any, status: str, *args: Any, **kwargs: Any) -> bool:
        if status == "ready":
            raise RuntimeError("the worker died after the upload")
        return real_finish(export, status, *args, **kwargs)

    monkeypatch.setattr(export_store, "finish", crash)
    assert run_exports_worker([message]) == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert export_of(api, tenant, made["id"])["status"] == "running" and objects.head(builds[0]) is not None
    monkeypatch.setattr(export_store, "finish", real_finish)
    assert run_exports_worker([message], 2)["batchItemFailures"]  # still leased: it comes back later
    frozen_clock.advance(seconds=400)  # past the lease: SQS shows the message again
    assert run_exports_worker([message], 3) == {"batchItemFailures": []}
    done = export_of(api, tenant, made["id"])
    assert done["status"] == "ready" and done["included"] == 2 and len(builds) == 1  # not built again
    assert len(download_zip(done["url"]).namelist()) == 3 and len(ready_events(events, made["id"])) == 1
    assert pending(tenant.workspace_id) == 0


def test_a_build_that_keeps_failing_fails_the_export_on_the_last_receive(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()
    images = make_images(api, tenant, "storage is down", 1)
    made = create(api, tenant, {"image_ids": images})
    (message,) = take_messages(made["id"])

    def broken(key: str) -> Any:
        raise ConnectionError("storage is down")

    monkeypatch.setattr(objects, "stream", broken)
    assert run_exports_worker([message], 1)["batchItemFailures"]
    assert export_of(api, tenant, made["id"])["status"] == "running" and pending(tenant.workspace_id) == 1
    frozen_clock.advance(seconds=400)
    assert run_exports_worker([message], 3) == {"batchItemFailures": []}
    failed = export_of(api, tenant, made["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "export_failed"
    assert pending(tenant.workspace_id) == 0 and objects.head(f"exports/{tenant.workspace_id}/{made['id']}.zip") is None


def test_pending_exports_are_capped_per_workspace(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "many exports")
    made = [create(api, tenant, {"image_ids": [image]}) for _ in range(rules.MAX_PENDING_EXPORTS)]
    status, body, headers = call(api, "POST", "/v1/exports", tenant, {"image_ids": [image]})
    assert status == 429 and body["error"]["code"] == "rate_limited" and body["error"]["scope"] == "workspace"
    assert headers["Retry-After"] == str(rules.EXPORT_RETRY_AFTER_S)
    assert len(call(api, "GET", "/v1/exports", tenant)[1]["data"]) == rules.MAX_PENDING_EXPORTS
    build(made[0]["id"])
    assert create(api, tenant, {"image_ids": [image]})["status"] == "queued"
    assert pending(tenant.workspace_id) == rules.MAX_PENDING_EXPORTS


def test_an_export_is_bounded_in_images_and_bytes(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = make_tenant()
    images = seed_images(tenant, 3)  # 100 bytes each
    folder = call(api, "POST", "/v1/folders", tenant, {"name": "Full"})[1]["folder"]["id"]
    assert call(api, "POST", "/v1/images/bulk", tenant, {"action": "move", "image_ids": images, "folder_id": folder})[0] == 200
    monkeypatch.setattr(rules, "MAX_EXPORT_BYTES", 250)
    status, body, _ = call(api, "POST", "/v1/exports", tenant, {"image_ids": images})
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    monkeypatch.setattr(rules, "MAX_EXPORT_BYTES", 1000)
    monkeypatch.setattr(rules, "MAX_EXPORT_IMAGES", 2)
    status, body, _ = call(api, "POST", "/v1/exports", tenant, {"folder_id": folder})
    assert status == 413 and "more than 2 images" in body["error"]["message"]
    assert call(api, "GET", "/v1/exports", tenant)[1]["data"] == [] and pending(tenant.workspace_id) == 0


BAD_BODIES = [
    ({}, None),
    ({"image_ids": ["img_x"], "folder_id": "fld_x"}, None),
    ({"image_ids": None, "folder_id": None}, None),
    ({"image_ids": []}, "image_ids"),
    ({"image_ids": "img_x"}, "image_ids"),
    ({"image_ids": [1]}, "image_ids.0"),
    ({"image_ids": [""]}, "image_ids.0"),
    ({"image_ids": ["x" * 65]}, "image_ids.0"),
    ({"image_ids": [f"img_{n}" for n in range(501)]}, "image_ids"),
    ({"image_ids": ["not-an-id"]}, "image_ids"),
    ({"image_ids": ["DUP", "DUP"]}, "image_ids"),
    ({"folder_id": ""}, "folder_id"),
    ({"folder_id": "../etc"}, "folder_id"),
    ({"folder_id": 7}, "folder_id"),
    ({"folder_id": "fld_x", "zip": True}, "zip"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api: Any, make_tenant: Any, body: Any, field: Any) -> None:
    tenant = make_tenant()
    if body.get("image_ids") == ["DUP", "DUP"]:
        (image,) = seed_images(tenant, 1)
        body = {"image_ids": [image, image]}
    status, answer, _ = call(api, "POST", "/v1/exports", tenant, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer
    assert answer["error"].get("field") == field
    assert call(api, "GET", "/v1/exports", tenant)[1]["data"] == [] and pending(tenant.workspace_id) == 0


def test_bad_ids_and_parameters_on_reads(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    for path in ("/v1/exports/nope", "/v1/exports/exp_00000000000000000000000000", "/v1/exports/img_01JABCDEFGHJKMNPQRSTVWXYZ0"):
        status, body, _ = call(api, "GET", path, tenant)
        assert status == 404 and body["error"]["code"] == "not_found", path
    for query in ("limit=0", "limit=101", "limit=x", "cursor=forged"):
        status, body, _ = call(api, "GET", f"/v1/exports?{query}", tenant)
        assert status == 400 and body["error"]["field"] in ("limit", "cursor"), query
    for raw in ("[]", "null", "nope"):
        status, _, _ = call(api, "POST", "/v1/exports", tenant, raw=raw)
        assert status == 400, raw
    folder = call(api, "POST", "/v1/folders", tenant, {"name": "Real"})[1]["folder"]["id"]
    missing = folder[:-1] + ("0" if folder[-1] != "0" else "1")
    status, body, _ = call(api, "POST", "/v1/exports", tenant, {"folder_id": missing})
    assert status == 404 and body["error"]["field"] == "folder_id"


def test_a_replayed_idempotency_key_queues_one_export(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, 1)
    first = create(api, tenant, {"image_ids": [image]}, **{"Idempotency-Key": "export-1"})
    second = create(api, tenant, {"image_ids": [image]}, **{"Idempotency-Key": "export-1"})
    assert first["id"] == second["id"] and pending(tenant.workspace_id) == 1
    status, body, _ = call(api, "POST", "/v1/exports", tenant, {"folder_id": "fld_x"}, headers={"Idempotency-Key": "export-1"})
    assert status == 409 and body["error"]["code"] == "idempotency_conflict"
    assert len(take_messages(first["id"])) == 1


def test_pages_of_exports_newest_first(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, 1)
    made = [create(api, tenant, {"image_ids": [image]})["id"] for _ in range(3)]
    status, page, _ = call(api, "GET", "/v1/exports?limit=2", tenant)
    assert status == 200 and [e["id"] for e in page["data"]] == made[::-1][:2] and page["next_cursor"]
    status, rest, _ = call(api, "GET", f"/v1/exports?limit=2&cursor={page['next_cursor']}", tenant)
    assert [e["id"] for e in rest["data"]] == made[:1] and rest["next_cursor"] is None
    other = call(api, "GET", f"/v1/exports?cursor={page['next_cursor']}", make_tenant())
    assert other[0] == 400 and other[1]["error"]["field"] == "cursor"  # a cursor is bound to its workspace


def test_ready_zips_expire_and_unbuilt_exports_fail_at_their_deadline(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "expiring export")
    ready = create(api, tenant, {"image_ids": [image]})
    build(ready["id"])
    stuck = create(api, tenant, {"image_ids": [image]})
    take_messages(stuck["id"])  # its message is lost: nothing will build it
    zip_key = f"exports/{tenant.workspace_id}/{ready['id']}.zip"
    frozen_clock.advance(hours=7)
    tasks.purge_library()
    failed = export_of(api, tenant, stuck["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "timeout" and pending(tenant.workspace_id) == 0
    assert export_of(api, tenant, ready["id"])["status"] == "ready" and objects.head(zip_key) is not None
    frozen_clock.advance(days=7)
    view = export_of(api, tenant, ready["id"])
    assert view["status"] == "expired" and view["url"] is None  # at once, before the purge
    report = tasks.purge_library()
    assert report["exports_swept"] >= 1 and objects.head(zip_key) is None
    assert export_store.get_export(tenant.workspace_id, ready["id"]).status == "expired"
    assert tasks.purge_library()["exports_swept"] == 0


def test_a_zip_larger_than_a_part_is_streamed_with_bounded_memory(
    api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch, builds: list[str]
) -> None:
    """Three 4 MiB originals: a 12 MiB zip in two 8 MiB parts, never more than a part (and a
    chunk) held at once."""
    import os

    from chalicelib.store.models import ImageModel

    tenant = make_tenant()
    images = seed_images(tenant, 3)
    originals = {}
    for image_id in images:
        row = ImageModel.get(tenant.workspace_id, image_id)
        originals[image_id] = os.urandom(4 * 1024 * 1024)
        objects.put(str(row.s3_key), originals[image_id], "image/png")
        row.update(actions=[ImageModel.bytes.set(len(originals[image_id]))])
    held: list[int] = []
    original_write = objects.PartWriter.write

    def watched(self: Any, data: bytes) -> int:
        answer = original_write(self, data)
        held.append(len(self.buffer))
        return answer

    monkeypatch.setattr(objects.PartWriter, "write", watched)
    parts: list[int] = []
    original_send = objects.PartWriter._send
    monkeypatch.setattr(objects.PartWriter, "_send", lambda self, part: (parts.append(len(part)), original_send(self, part)))
    made = create(api, tenant, {"image_ids": images})
    build(made["id"])
    done = export_of(api, tenant, made["id"])
    assert done["status"] == "ready" and done["zip_bytes"] > 12 * 1024 * 1024
    assert parts[:-1] == [objects.PART_SIZE] * (len(parts) - 1) and len(parts) == 2  # equal parts, as R2 wants
    assert max(held) < objects.PART_SIZE
    archive = download_zip(done["url"])
    for image_id in images:
        assert archive.read(f"{image_id}.png") == originals[image_id]
    assert archive.testzip() is None


def test_an_event_that_cannot_be_queued_is_emitted_by_the_next_delivery(
    api: Any, make_tenant: Any, events: CapturedQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant()
    images = make_images(api, tenant, "webhooks queue down", 1)
    made = create(api, tenant, {"image_ids": images})
    (message,) = take_messages(made["id"])

    def down(message: Any, delay_s: int = 0) -> None:
        raise ConnectionError("the webhooks queue is down")

    monkeypatch.setattr("chalicelib.webhooks.queue.send", down)
    assert run_exports_worker([message], 3)["batchItemFailures"]  # even on the last receive: retried, not failed
    assert export_of(api, tenant, made["id"])["status"] == "ready" and ready_events(events, made["id"]) == []
    monkeypatch.setattr("chalicelib.webhooks.queue.send", events.send)
    assert run_exports_worker([message]) == {"batchItemFailures": []}
    assert run_exports_worker([message]) == {"batchItemFailures": []}
    assert len(ready_events(events, made["id"])) == 1


def test_an_export_that_cannot_be_queued_fails_at_once_and_gives_its_slot_back(
    api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def unavailable(name: str) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "SQS is down"}}, "GetQueueUrl")

    tenant = make_tenant()
    (image,) = seed_images(tenant, 1)
    monkeypatch.setattr("chalicelib.aws.queue_url", unavailable)
    status, body, headers = call(api, "POST", "/v1/exports", tenant, {"image_ids": [image]})
    assert status == 503 and body["error"]["code"] == "service_unavailable" and headers["Retry-After"] == "5"
    (row,) = call(api, "GET", "/v1/exports", tenant)[1]["data"]
    assert row["status"] == "failed" and row["error"]["code"] == "queue_unavailable" and pending(tenant.workspace_id) == 0
