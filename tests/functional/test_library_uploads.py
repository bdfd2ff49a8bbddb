"""Uploads: presigned POST, completion proving a real image (no EXIF, no bombs), exact storage
quota under concurrent completions, expiry and the purge (run twice)."""

from __future__ import annotations

import base64
import io
import json
import threading
from typing import Any

import pytest
import requests

from tests.functional.helpers import call
from tests.functional.library_helpers import ids_of

pytestmark = pytest.mark.usefixtures("aws")


def png(width: int = 64, height: int = 48, *, gps: bool = False, fmt: str = "PNG") -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "SpyCam"  # Make
        exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
        image.save(out, format=fmt, exif=exif.tobytes())
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def start(api: Any, tenant: Any, data: bytes, content_type: str = "image/png", name: str = "Showcase shot.png") -> dict[str, Any]:
    status, body, _ = call(
        api, "POST", "/v1/uploads", tenant, {"filename": name, "content_type": content_type, "bytes": len(data)}
    )
    assert status == 201, body
    return dict(body["upload"])


def post_file(upload: dict[str, Any], data: bytes, content_type: str = "image/png") -> int:
    files = {"file": ("upload", data, content_type)}
    return requests.post(upload["url"], data=upload["fields"], files=files, timeout=10).status_code


def upload_image(api: Any, tenant: Any, data: bytes, content_type: str = "image/png") -> tuple[int, dict[str, Any]]:
    upload = start(api, tenant, data, content_type)
    assert post_file(upload, data, content_type) in (200, 201, 204)
    status, body, _ = call(api, "POST", f"/v1/uploads/{upload['id']}/complete", tenant)
    return status, body


def test_upload_complete_strips_exif_makes_a_thumbnail_and_lists_it(api: Any, make_tenant: Any) -> None:
    from PIL import Image

    tenant = make_tenant()
    data = png(gps=True, fmt="JPEG")
    assert b"SpyCam" in data
    status, body = upload_image(api, tenant, data, "image/jpeg")
    assert status == 201, body
    image = body["image"]
    assert image["kind"] == "upload" and image["title"] == "Showcase shot" and image["job_id"] is None
    assert (image["width"], image["height"]) == (64, 48) and image["thumbnail_url"]
    stored = requests.get(image["url"], timeout=10).content
    assert b"SpyCam" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as opened:
        assert opened.format == "JPEG" and not opened.getexif()
    assert ids_of(api, tenant, "?kind=upload") == [image["id"]] and ids_of(api, tenant, "?q=showcase") == [image["id"]]
    again = call(api, "POST", f"/v1/uploads/{image['id'].replace('img_', 'upl_')}/complete", tenant)
    assert again[0] == 201 and again[1]["image"]["id"] == image["id"]  # completes once; a repeat returns it


def test_a_file_that_claims_png_but_is_not_one_is_400(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    for data in (b"GIF89a not a png at all" * 10, png(fmt="JPEG"), png()[:60]):
        status, body = upload_image(api, tenant, data)
        assert status == 400 and body["error"]["code"] == "invalid_request" and body["error"]["field"] == "file", body
    assert ids_of(api, tenant, "?kind=upload") == []


def test_a_50_megapixel_png_bomb_is_400(api: Any, make_tenant: Any) -> None:
    from PIL import Image

    tenant = make_tenant()
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, format="PNG", optimize=True)  # 50 MP, a few KB compressed
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    status, body = upload_image(api, tenant, bomb)
    assert status == 400 and "pixels" in body["error"]["message"], body


def test_completion_before_the_file_is_there_or_bigger_than_declared(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    data = png()
    upload = start(api, tenant, data)
    status, body, _ = call(api, "POST", f"/v1/uploads/{upload['id']}/complete", tenant)
    assert status == 400 and body["error"]["field"] == "file"
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, len(data)] in conditions and {"Content-Type": "image/png"} in conditions
    assert {"key": upload["fields"]["key"]} in conditions or any("key" in str(c) for c in conditions)
    # S3 refuses a larger file by the policy; moto does not enforce policies, completion checks again
    assert post_file(upload, data + b"x" * 10) in (200, 201, 204)
    status, body, _ = call(api, "POST", f"/v1/uploads/{upload['id']}/complete", tenant)
    assert status == 400 and "declared" in body["error"]["message"], body


def test_storage_quota_exactly_at_the_limit_under_concurrent_completions(api: Any, make_tenant: Any) -> None:
    probe = make_tenant()
    data = png(32, 32)
    status, body = upload_image(api, probe, data)
    size = body["image"]["bytes"]
    from chalicelib.store import library_index

    per_upload = library_index.counter(probe.workspace_id, library_index.STORAGE_BYTES)
    assert per_upload == size > 0  # the stored original counts (thumbnails are ours)
    tenant = make_tenant(limits={"storage_bytes": 3 * per_upload})
    uploads = [start(api, tenant, data) for _ in range(6)]
    for upload in uploads:
        assert post_file(upload, data) in (200, 201, 204)
    results: list[tuple[int, dict[str, Any], dict[str, str]]] = []

    def complete(upload_id: str) -> None:
        from chalicelib.domain import DomainError
        from chalicelib.library import uploads as service
        from chalicelib.library.images import Actor

        actor = Actor(tenant.workspace_id, tenant.user_id, True, "starter", {"storage_bytes": 3 * per_upload})
        try:
            service.complete_upload(actor, upload_id)
            results.append((201, {}, {}))
        except DomainError as error:
            results.append((402 if error.code == "quota_exceeded" else 500, {"details": error.details}, {}))

    threads = [threading.Thread(target=complete, args=(u["id"],)) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r[0] for r in results) == [201, 201, 201, 402, 402, 402], results
    assert all(r[1]["details"]["quota"] == "storage_bytes" for r in results if r[0] == 402)
    assert library_index.counter(tenant.workspace_id, library_index.STORAGE_BYTES) == 3 * per_upload
    status, body, _ = call(api, "POST", "/v1/uploads", tenant, {"filename": "x.png", "content_type": "image/png", "bytes": 1})
    assert status == 402 and body["error"]["code"] == "quota_exceeded" and body["error"]["quota"] == "storage_bytes"


_PNG = {"filename": "a.png", "content_type": "image/png"}


@pytest.mark.parametrize(
    "body",
    [{}, {**_PNG, "content_type": "image/gif", "bytes": 10}, {**_PNG, "bytes": 0}, {**_PNG, "bytes": 26 * 1024 * 1024},
     {**_PNG, "filename": "", "bytes": 5}, {**_PNG, "filename": "a\x00", "bytes": 5}, {**_PNG, "bytes": "5"},
     {**_PNG, "bytes": 5, "x": 1}, {**_PNG, "bytes": 5.5}, {**_PNG, "filename": 7, "bytes": 5}],
)  # fmt: skip
def test_bad_upload_bodies_are_400(api: Any, make_tenant: Any, body: dict[str, Any]) -> None:
    status, answer, _ = call(api, "POST", "/v1/uploads", make_tenant(), body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", answer


def test_other_tenants_uploads_are_not_found(api: Any, make_tenant: Any) -> None:
    owner, stranger = make_tenant(), make_tenant()
    upload = start(api, owner, png())
    status, body, _ = call(api, "POST", f"/v1/uploads/{upload['id']}/complete", stranger)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_purge_removes_expired_uploads_and_old_trash_and_is_safe_twice(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    from chalicelib import tasks
    from chalicelib.store import library_index

    tenant = make_tenant()
    data = png()
    status, body = upload_image(api, tenant, data)
    kept, doomed = body["image"], upload_image(api, tenant, data)[1]["image"]
    assert call(api, "PATCH", f"/v1/images/{doomed['id']}", tenant, {"tags": ["gone"]})[0] == 200
    call(api, "DELETE", f"/v1/images/{doomed['id']}", tenant)
    stale = start(api, tenant, data)
    assert post_file(stale, data) in (200, 201, 204)
    used = library_index.counter(tenant.workspace_id, library_index.STORAGE_BYTES)
    frozen_clock.advance(days=29)
    early = tasks.purge_library()
    assert early["uploads_expired"] >= 1  # (other tests' pending uploads share these tables)
    assert call(api, "POST", f"/v1/uploads/{stale['id']}/complete", tenant)[0] == 404
    frozen_clock.advance(days=1, seconds=1)
    first = tasks.purge_library()
    second = tasks.purge_library()
    assert first["images_purged"] >= 1
    assert second == {"images_purged": 0, "uploads_expired": 0, "skipped": 0, "exports_swept": 0, "shares_expired": 0}
    assert call(api, "GET", f"/v1/images/{doomed['id']}", tenant)[0] == 404
    assert requests.get(doomed["url"], timeout=10).status_code == 404
    assert requests.get(kept["url"], timeout=10).status_code == 200
    assert ids_of(api, tenant, "?trashed=true") == [] and ids_of(api, tenant) == [kept["id"]]
    assert library_index.counter(tenant.workspace_id, library_index.STORAGE_BYTES) == used // 2
    assert call(api, "GET", "/v1/tags", tenant)[1]["data"] == []
