"""The library's usage counters and the admin storage view; share copies that must not outlive
their link; the backfill that indexes and counts images made before the library.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from chalicelib import tasks
from chalicelib.library import objects
from chalicelib.store import library_index
from tests.functional.helpers import call
from tests.functional.library_helpers import ids_of, make_images
from tests.functional.test_library_uploads import png, upload_image


def usage(workspace_id: str) -> tuple[int, int]:
    counters = library_index.usage(workspace_id)
    return counters.get(library_index.IMAGES, 0), counters.get(library_index.IMAGE_BYTES, 0)


def sizes(api: Any, tenant: Any, image_ids: list[str]) -> int:
    return sum(call(api, "GET", f"/v1/images/{i}", tenant)[1]["image"]["bytes"] for i in image_ids)


# --- counters and the admin view ------------------------------------------------------------------


def test_counters_follow_jobs_uploads_and_deletes(api: Any, make_tenant: Any, admin: Any) -> None:
    tenant = make_tenant()
    made = make_images(api, tenant, "counted pictures", 2)
    assert usage(tenant.workspace_id) == (2, sizes(api, tenant, made))
    uploaded = upload_image(api, tenant, png())[1]["image"]
    everything = [*made, uploaded["id"]]
    assert usage(tenant.workspace_id) == (3, sizes(api, tenant, everything))
    call(api, "DELETE", f"/v1/images/{made[0]}", tenant)  # the trash still keeps it
    assert usage(tenant.workspace_id) == (3, sizes(api, tenant, everything))
    gone = {"action": "delete_forever", "image_ids": [made[0], uploaded["id"]]}
    assert call(api, "POST", "/v1/images/bulk", tenant, gone)[1]["results"][0]["ok"] is True
    assert usage(tenant.workspace_id) == (1, sizes(api, tenant, [made[1]]))
    status, body, _ = call(api, "GET", f"/admin/api/workspaces/{tenant.workspace_id}/storage", admin)
    assert status == 200, body
    assert body["storage"] == {
        "workspace_id": tenant.workspace_id,
        "plan": "starter",
        "images": 1,
        "image_bytes": sizes(api, tenant, [made[1]]),
        "upload_bytes": 0,
        "upload_quota_bytes": 5 * 1024**3,
        "pending_exports": 0,
        "max_pending_exports": 3,
    }


def test_the_storage_view_is_for_platform_admins_and_refuses_bad_input(api: Any, make_tenant: Any, admin: Any) -> None:
    tenant = make_tenant()
    path = f"/admin/api/workspaces/{tenant.workspace_id}/storage"
    assert call(api, "GET", path, tenant)[0] == 403
    assert call(api, "GET", path, None)[0] == 401
    for bad in ("ws_00000000000000000000000000", "nope", "usr_00000000000000000000000000"):
        status, body, _ = call(api, "GET", f"/admin/api/workspaces/{bad}/storage", admin)
        assert status == 404 and body["error"]["code"] == "not_found", bad
    status, body, _ = call(api, "GET", path + "?workspace_id=x", admin)
    assert status == 400 and body["error"]["field"] == "workspace_id"


def test_a_replayed_settlement_counts_a_jobs_images_once(api: Any, make_tenant: Any) -> None:
    """Settlement writes the counters with the image rows: a second settlement of the same job
    (a duplicate delivery) finds its hold settled and writes neither."""
    from chalicelib.accounting.settlement import JobFinal, Usage, settle_job
    from chalicelib.clock import now
    from chalicelib.store.models import ImageModel, JobModel

    tenant = make_tenant()
    (image,) = make_images(api, tenant, "settled once")
    before = usage(tenant.workspace_id)
    row = ImageModel.get(tenant.workspace_id, image)
    job = JobModel.get(tenant.workspace_id, row.job_id)
    counters = library_index.image_counter_updates(tenant.workspace_id, 1, int(row.bytes))
    again = settle_job(job, Usage(1, 1), JobFinal("succeeded", now()), now(), image_rows=[row], counters=counters)
    assert not again.applied and usage(tenant.workspace_id) == before == (1, int(row.bytes))


# --- share copies --------------------------------------------------------------------------------


def _share(api: Any, tenant: Any, image: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {"target": {"type": "image", "id": image}, "permission": "download", **extra}
    status, made, _ = call(api, "POST", "/v1/shares", tenant, body)
    assert status == 201, made
    status, shown, _ = call(api, "GET", "/s/" + made["share"]["url"].rsplit("/s/", 1)[1])
    assert status == 200, shown
    return made["share"], shown["items"][0]


def _exists(url: str) -> bool:
    return requests.get(url, timeout=10).status_code == 200


def test_revoking_a_link_deletes_its_copies_at_once(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "revoked copies")
    share, item = _share(api, tenant, image)
    assert _exists(item["download_url"]) and _exists(item["preview_url"])
    assert call(api, "DELETE", f"/v1/shares/{share['id']}", tenant)[0] == 204
    assert not _exists(item["download_url"]) and not _exists(item["preview_url"])
    assert _exists(call(api, "GET", f"/v1/images/{image}", tenant)[1]["image"]["url"])  # the original stays


def test_an_expired_links_copies_go_when_its_expiry_falls_due(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "expiring copies")
    expires = datetime(2026, 11, 24, 13, 0, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    _, item = _share(api, tenant, image, expires_at=expires)
    _, kept = _share(api, tenant, image)  # a link without expiry keeps its copies
    assert _exists(item["download_url"])
    frozen_clock.advance(hours=2)
    report = tasks.purge_library()
    assert report["shares_expired"] >= 1
    assert not _exists(item["download_url"]) and not _exists(item["preview_url"])
    assert _exists(kept["download_url"])
    assert tasks.purge_library()["shares_expired"] == 0


def test_copies_are_named_per_day_so_the_lifecycle_rule_can_expire_them(api: Any, make_tenant: Any, frozen_clock: Any) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "daily copies")
    share, first = _share(api, tenant, image)
    frozen_clock.advance(days=1)
    status, shown, _ = call(api, "GET", "/s/" + share["url"].rsplit("/s/", 1)[1])
    second = shown["items"][0]
    key = lambda url: url.split("?", 1)[0].rsplit("/", 1)[1]  # noqa: E731
    assert key(first["download_url"]) != key(second["download_url"]) and _exists(second["download_url"])
    rule = next(r for r in objects.lifecycle_rules() if r["ID"] == "shared-copies-expire")
    assert rule["Filter"]["Prefix"] == "images/shared/" and rule["Expiration"]["Days"] == 2
    # revoking deletes every day's copy the rule may still keep
    assert call(api, "DELETE", f"/v1/shares/{share['id']}", tenant)[0] == 204
    assert not _exists(first["download_url"]) and not _exists(second["download_url"])


# --- the backfill --------------------------------------------------------------------------------


def _legacy_rows(workspace_id: str, user_id: str, n: int) -> list[str]:
    """Image rows as the generation worker wrote them before the library: no version, no
    library fields, no index rows, not counted."""
    from chalicelib import clock, ids
    from chalicelib.store.models import ImageModel

    made = []
    for k in range(n):
        image_id = ids.new_id("img", clock.now())
        ImageModel(
            workspace_id, image_id, job_id="job_legacy", user_id=user_id, s3_key=f"images/{workspace_id}/old/{k}.png",
            width=8, height=8, content_type="image/png", bytes=100 + k, kind="generate", created_at=clock.now(),
        ).save()  # fmt: skip
        made.append(image_id)
    return made


def test_the_backfill_indexes_and_counts_old_images_once_and_resumes(
    api: Any, fresh_aws: Any, make_tenant: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import ops
    from chalicelib.library import backfill
    from chalicelib.store import images as image_store

    tenant = make_tenant()
    legacy = _legacy_rows(tenant.workspace_id, tenant.user_id, 5)
    assert ids_of(api, tenant) == [] and usage(tenant.workspace_id) == (0, 0)
    first = backfill.run(max_pages=1, page_size=2)
    assert (first.counted, first.pages, first.finished) == (2, 1, False) and first.cursor is not None
    assert image_store.backfill_position(backfill.NAME) == first.cursor
    rest = backfill.run(page_size=2)  # resumes where the first run stopped
    assert (rest.counted, rest.finished) == (3, True) and image_store.backfill_position(backfill.NAME) is None
    assert sorted(ids_of(api, tenant)) == sorted(legacy)
    assert ids_of(api, tenant, "?kind=generate&limit=2") == legacy[::-1][:2]
    assert usage(tenant.workspace_id) == (5, sum(100 + k for k in range(5)))
    assert ops.main(["backfill-library", "--restart"]) == 0  # twice: nothing more is counted
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["counted"] == 0
    assert usage(tenant.workspace_id) == (5, 510)
    status, body, _ = call(api, "DELETE", f"/v1/images/{legacy[0]}", tenant)  # the library edits them now
    assert status == 200 and body["image"]["trashed_at"]


def test_the_backfill_skips_rows_counted_or_deleted_under_it(api: Any, fresh_aws: Any, make_tenant: Any) -> None:
    from chalicelib.library import backfill
    from chalicelib.store import images as image_store

    tenant = make_tenant()
    counted_twice, deleted = _legacy_rows(tenant.workspace_id, tenant.user_id, 2)
    row = image_store.get_image(tenant.workspace_id, counted_twice)
    stale = image_store.get_image(tenant.workspace_id, counted_twice)
    assert backfill.count_row(row) is True
    assert backfill.count_row(stale) is False  # a concurrent run counted it first
    doomed = image_store.get_image(tenant.workspace_id, deleted)
    doomed.delete()
    assert backfill.count_row(doomed) is False
    assert usage(tenant.workspace_id) == (1, 100)
