"""A folder's images in the order its owner sets: placing blocks at the top or after an image,
arrivals unplaced (newest first, after the placed ones), trash keeps a place, shares follow the
order, pages and cursors, bad input, other tenants, races, and the backfill of older rows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.store.request_counter import RequestCounter
from tests.functional.helpers import call
from tests.functional.library_helpers import make_images, member_of, seed_images
from tests.functional.test_library_folders import folder

pytestmark = pytest.mark.usefixtures("aws")


def _filled(api: Any, tenant: Any, n: int) -> tuple[str, list[str]]:
    """A folder holding n new images; returns its id and the images newest first."""
    made = seed_images(tenant, n)
    fld = folder(api, tenant, "ordered")["id"]
    status, body, _ = call(api, "POST", "/v1/images/bulk", tenant, {"action": "move", "image_ids": made, "folder_id": fld})
    assert status == 200 and all(r["ok"] for r in body["results"]), body
    return fld, sorted(made, reverse=True)


def _order(api: Any, tenant: Any, fld: str, limit: int = 100) -> list[str]:
    got, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        status, body, _ = call(api, "GET", f"/v1/folders/{fld}/images{query}", tenant)
        assert status == 200, body
        got += [image["id"] for image in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            return got


def _place(api: Any, tenant: Any, fld: str, image_ids: list[str], after: str | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"image_ids": image_ids} if after is None else {"image_ids": image_ids, "after": after}
    status, answer, _ = call(api, "PUT", f"/v1/folders/{fld}/order", tenant, body)
    assert status == 200, answer
    return list(answer["results"])


def test_placing_blocks_at_the_top_and_after_an_image(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    fld, newest = _filled(api, tenant, 8)
    assert _order(api, tenant, fld) == newest  # nothing placed: newest first
    a, b, c, d, e, f, g, h = newest
    assert all(r["ok"] for r in _place(api, tenant, fld, [f, b]))
    assert _order(api, tenant, fld) == [f, b, a, c, d, e, g, h]
    _place(api, tenant, fld, [h, a], after=f)
    assert _order(api, tenant, fld) == [f, h, a, b, c, d, e, g]
    _place(api, tenant, fld, [f], after=g)  # to the very end, among the unplaced
    assert _order(api, tenant, fld) == [h, a, b, c, d, e, g, f]
    _place(api, tenant, fld, [h, a], after=f)  # the same again: nothing moves but what was asked
    assert _order(api, tenant, fld, limit=3) == [b, c, d, e, g, f, h, a]  # pages of 3 agree


def test_arrivals_are_unplaced_and_the_trash_keeps_a_place(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    fld, newest = _filled(api, tenant, 4)
    a, b, c, d = newest
    _place(api, tenant, fld, [d, c])
    assert call(api, "DELETE", f"/v1/images/{c}", tenant)[0] == 200
    assert _order(api, tenant, fld) == [d, a, b]
    assert call(api, "POST", f"/v1/images/{c}/restore", tenant)[0] == 200
    assert _order(api, tenant, fld) == [d, c, a, b]  # back in its place
    other = folder(api, tenant, "elsewhere")["id"]
    assert call(api, "PATCH", f"/v1/images/{d}", tenant, {"folder_id": other})[0] == 200
    assert call(api, "PATCH", f"/v1/images/{d}", tenant, {"folder_id": fld})[0] == 200
    assert _order(api, tenant, fld) == [c, a, b, d]  # back as an arrival: after the placed, newest first (d oldest)
    assert _order(api, tenant, other) == []


def test_a_shared_folder_shows_the_owners_order(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    made = make_images(api, tenant, "shared in order", n=3)
    fld = folder(api, tenant, "shared")["id"]
    call(api, "POST", "/v1/images/bulk", tenant, {"action": "move", "image_ids": made, "folder_id": fld})
    newest = sorted(made, reverse=True)
    titles = {image_id: f"picture {n}" for n, image_id in enumerate(newest)}
    for image_id, title in titles.items():
        assert call(api, "PATCH", f"/v1/images/{image_id}", tenant, {"title": title})[0] == 200
    _place(api, tenant, fld, [newest[2], newest[0]])
    status, share, _ = call(api, "POST", "/v1/shares", tenant, {"target": {"type": "folder", "id": fld}, "permission": "view"})
    assert status == 201, share
    status, shown, _ = call(api, "GET", "/s/" + share["share"]["url"].rsplit("/s/", 1)[1])
    assert status == 200, shown
    assert [item["title"] for item in shown["items"]] == ["picture 2", "picture 0", "picture 1"]


def test_items_fail_alone_and_bad_input_changes_nothing(api: Any, make_tenant: Any) -> None:
    tenant, other = make_tenant(), make_tenant()
    fld, newest = _filled(api, tenant, 3)
    loose = seed_images(tenant, 1)[0]
    foreign = seed_images(other, 1)[0]
    results = _place(api, tenant, fld, [newest[2], loose, foreign])
    assert [(r["ok"], (r.get("error") or {}).get("code")) for r in results] == [
        (True, None),
        (False, "conflict"),
        (False, "not_found"),
    ]
    assert _order(api, tenant, fld) == [newest[2], newest[0], newest[1]]
    before = _order(api, tenant, fld)
    bad: list[tuple[Any, int, str]] = [
        ({}, 400, "image_ids"),
        ({"image_ids": []}, 400, "image_ids"),
        ({"image_ids": [newest[0]] * 2}, 400, "image_ids"),
        ({"image_ids": ["img_" + "0" * 26] * 501}, 400, "image_ids"),
        ({"image_ids": ["not-an-id"]}, 400, "image_ids"),
        ({"image_ids": [newest[0]], "after": newest[0]}, 400, "after"),
        ({"image_ids": [newest[0]], "after": loose}, 409, ""),
        ({"image_ids": [newest[0]], "after": foreign}, 404, ""),
        ({"image_ids": [newest[0]], "after": 7}, 400, "after"),
        ({"image_ids": [newest[0]], "extra": 1}, 400, "extra"),
        ({"image_ids": "img_x"}, 400, "image_ids"),
    ]
    for body, code, field in bad:
        status, err, _ = call(api, "PUT", f"/v1/folders/{fld}/order", tenant, body)
        assert status == code, (body, err)
        assert not field or err["error"].get("field", "").startswith(field), (body, err)
    assert _order(api, tenant, fld) == before
    assert call(api, "PUT", f"/v1/folders/{fld}/order", other, {"image_ids": [newest[0]]})[0] == 404
    assert call(api, "GET", f"/v1/folders/{fld}/images", other)[0] == 404
    status, page, _ = call(api, "GET", f"/v1/folders/{fld}/images?limit=1", tenant)
    mine = folder(api, tenant, "another")["id"]
    assert call(api, "GET", f"/v1/folders/{mine}/images?cursor={page['next_cursor']}", tenant)[0] == 400  # another folder's
    assert call(api, "GET", f"/v1/folders/{fld}/images?cursor=forged", tenant)[0] == 400
    assert call(api, "GET", f"/v1/folders/{fld}/images?sort=rank", tenant)[0] == 400
    viewer = member_of(tenant, "viewer")
    assert call(api, "PUT", f"/v1/folders/{fld}/order", viewer, {"image_ids": [newest[0]]})[0] == 403
    assert _order(api, tenant, fld) == before


def test_placing_one_image_costs_the_same_in_a_big_folder(api: Any, make_tenant: Any) -> None:
    counts = []
    for size in (5, 150):
        tenant = make_tenant()
        fld, newest = _filled(api, tenant, size)
        counter = RequestCounter()
        counter.install()
        try:
            counter.reset()
            _place(api, tenant, fld, [newest[-1]], after=newest[1])
        finally:
            counter.uninstall()
        counts.append(dict(counter.calls))
        assert _order(api, tenant, fld)[:3] == [newest[0], newest[1], newest[-1]]
    assert counts[0] == counts[1], counts
    assert sum(counts[0].values()) <= 8, counts


def test_concurrent_reorders_keep_every_image_once(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    fld, newest = _filled(api, tenant, 6)
    start = threading.Barrier(4)

    def place(block: list[str]) -> list[dict[str, Any]]:
        start.wait()
        return _place(api, tenant, fld, block)

    blocks = [newest[:3], newest[3:], list(reversed(newest[:3])), [newest[5], newest[0]]]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(place, blocks))
    assert sorted(_order(api, tenant, fld)) == sorted(newest)


def test_the_backfill_ranks_rows_in_folders_written_before_folder_order(api: Any, make_tenant: Any) -> None:
    from chalicelib.library.backfill import rank_folders
    from chalicelib.store.models import ImageModel

    tenant = make_tenant()
    fld, newest = _filled(api, tenant, 3)
    for image_id in newest[:2]:
        ImageModel(tenant.workspace_id, image_id).update(actions=[ImageModel.folder_rank.remove()])
    assert _order(api, tenant, fld) == [newest[2]]
    assert rank_folders() >= 2
    assert _order(api, tenant, fld) == newest
    assert rank_folders() == 0
