"""Reports and moderation: one client's reports count once, admins list cases by status, a hidden
image is gone from every public surface (gallery, collections, share links) and audited once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.gallery_helpers import GENEROUS, add, collection, gallery_ids, publish, seed_images
from tests.functional.helpers import call


@pytest.fixture(autouse=True)
def _generous_limits(monkeypatch: Any) -> None:
    for name, value in GENEROUS.items():
        monkeypatch.setenv(name, value)


def report(api: Any, image_id: str, reason: str = "spam", **extra: Any) -> tuple[int, dict[str, Any]]:
    status, body, _ = call(api, "POST", "/v1/gallery/reports", None, {"image_id": image_id, "reason": reason, **extra})
    return status, body


def cases(api: Any, admin: Any, status: str = "open") -> list[dict[str, Any]]:
    code, body, _ = call(api, "GET", f"/admin/api/reports?status={status}&limit=100", admin)
    assert code == 200, body
    return list(body["data"])


def case_of(api: Any, admin: Any, image_id: str, status: str = "open") -> dict[str, Any] | None:
    return next((c for c in cases(api, admin, status) if c["image_id"] == image_id), None)


def test_a_client_reports_an_image_once_and_admins_see_the_case(api: Any, make_tenant: Any, admin: Any) -> None:
    from chalicelib.gallery import feedback

    tenant = make_tenant()
    (image,) = seed_images(tenant, ["reported picture"])
    publish(api, tenant, image)
    status, body = report(api, image, "spam", note="buy now links")
    assert status == 201 and body == {"report": {"image_id": image, "reason": "spam", "counted": True}}
    status, body = report(api, image, "hate")  # the same client again: received, not counted
    assert status == 201 and body["report"]["counted"] is False
    assert feedback.report(image, "violence", None, "192.0.2.7").value.counted
    assert not feedback.report(image, "violence", None, "192.0.2.7").value.counted
    case = case_of(api, admin, image)
    assert case is not None and case["reports"] == 2 and case["reasons"] == ["spam", "violence"]
    assert case["workspace_id"] == tenant.workspace_id and case["last_note"] == "buy now links"
    assert case["prompt"] == "reported picture" and case["preview_url"] and case["status"] == "open"
    assert call(api, "GET", "/admin/api/reports", tenant)[0] == 403
    assert call(api, "GET", "/admin/api/reports")[0] == 401


def test_reports_are_for_gallery_images_only(api: Any, make_tenant: Any) -> None:
    tenant = make_tenant()
    private, unpublished = seed_images(tenant, ["private", "was public"])
    publish(api, tenant, unpublished)
    call(api, "POST", f"/v1/images/{unpublished}/unpublish", tenant)
    for image_id in (private, unpublished, "img_" + "0" * 26, "img_x"):
        status, body = report(api, image_id)
        assert status == 404 and body["error"]["code"] == "not_found", image_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "image_id"),
        ({"image_id": "img_x"}, "reason"),
        ({"image_id": "img_x", "reason": "boring"}, "reason"),
        ({"image_id": "img_x", "reason": 3}, "reason"),
        ({"image_id": "img_x", "reason": "spam", "note": "n" * 501}, "note"),
        ({"image_id": "img_x", "reason": "spam", "note": 5}, "note"),
        ({"image_id": "../x", "reason": "spam"}, "image_id"),
        ({"image_id": "i" * 65, "reason": "spam"}, "image_id"),
        ({"image_id": ["img_x"], "reason": "spam"}, "image_id"),
        ({"image_id": "img_x", "reason": "spam", "email": "me@x.test"}, "email"),
    ],
)
def test_bad_reports_are_400_and_count_nothing(api: Any, make_tenant: Any, admin: Any, body: dict[str, Any], field: str) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, ["bad report target"])
    publish(api, tenant, image)
    payload = {k: (image if v == "img_x" else v) for k, v in body.items()}
    status, answer, _ = call(api, "POST", "/v1/gallery/reports", None, payload)
    assert status == 400 and answer["error"]["field"] == field, answer
    assert case_of(api, admin, image) is None


def test_reports_are_rate_limited_per_client(api: Any, make_tenant: Any, monkeypatch: Any) -> None:
    from chalicelib.gallery import feedback
    from chalicelib.gallery.errors import ClientRateLimited

    tenant = make_tenant()
    images = seed_images(tenant, [f"limited {n}" for n in range(4)])
    for image in images:
        publish(api, tenant, image)
    monkeypatch.setenv("GALLERY_REPORTS_PER_MINUTE", "3")
    for image in images[:3]:
        feedback.report(image, "spam", None, "192.0.2.99")
    with pytest.raises(ClientRateLimited) as refused:
        feedback.report(images[3], "spam", None, "192.0.2.99")
    assert refused.value.scope == "client" and 1 <= refused.value.retry_after <= 60
    assert feedback.report(images[3], "spam", None, "192.0.2.100").value.counted  # another client


def test_hiding_removes_an_image_from_every_public_surface_once(api: Any, make_tenant: Any, admin: Any) -> None:
    from chalicelib.store.audit import trail

    tenant = make_tenant()
    hidden, kept = seed_images(tenant, ["hideme offending", "hideme fine"], tags=[["hideme"], ["hideme"]])
    for image in (hidden, kept):
        publish(api, tenant, image)
    album = collection(api, tenant, "public")
    add(api, tenant, album["id"], [hidden, kept])
    call(api, "PATCH", f"/v1/collections/{album['id']}", tenant, {"cover_image_id": hidden})
    links = {}
    for target in ({"type": "image", "id": hidden}, {"type": "collection", "id": album["id"]}):
        made = call(api, "POST", "/v1/shares", tenant, {"target": target, "permission": "download"})[1]["share"]
        links[target["type"]] = made["url"].rsplit("/s/", 1)[1]
    before = public_url(hidden)
    assert _fetch(before["url"]) == 200
    report(api, hidden, "sexual")
    status, body, _ = call(api, "POST", f"/admin/api/images/{hidden}/hide", admin, {"reason": "nudity, confirmed"})
    assert status == 200 and body == {
        "image_id": hidden,
        "workspace_id": tenant.workspace_id,
        "visibility": "hidden",
        "changed": True,
    }
    assert gallery_ids(api, "?tag=hideme") == [kept] and gallery_ids(api, "?tag=hideme&sort=top") == [kept]
    public = call(api, "GET", f"/v1/gallery/collections/{album['id']}")[1]
    assert [i["id"] for i in public["data"]] == [kept] and public["collection"]["cover_image_id"] is None
    assert call(api, "GET", f"/s/{links['image']}")[0] == 404
    assert len(call(api, "GET", f"/s/{links['collection']}")[1]["items"]) == 1
    assert call(api, "POST", f"/v1/gallery/images/{hidden}/like")[0] == 404
    assert report(api, hidden)[0] == 404
    assert _fetch(before["url"]) == 404  # the public copy was deleted
    assert publish(api, tenant, hidden, 409)["error"]["message"].endswith("cannot be published")
    assert call(api, "GET", f"/v1/images/{hidden}", tenant)[0] == 200  # the owner still has it
    again = call(api, "POST", f"/admin/api/images/{hidden}/hide", admin, {"reason": "again"})[1]
    assert again["changed"] is False
    audits = [a for a in trail(tenant.workspace_id) if a.action == "gallery.hide_image"]
    assert len(audits) == 1 and audits[0].reason == "nudity, confirmed" and audits[0].actor == admin.user_id
    assert audits[0].before == {"image_id": hidden, "visibility": "public"} and audits[0].after["visibility"] == "hidden"
    case = case_of(api, admin, hidden, "hidden")
    assert case is not None and case["decided_by"] == admin.user_id and case["decision_reason"] == "nudity, confirmed"
    assert case_of(api, admin, hidden, "open") is None


def public_url(image_id: str) -> dict[str, Any]:
    """The presigned URL of the image's public copy, as the gallery hands it out."""
    from chalicelib.gallery import media
    from chalicelib.store import gallery as store

    entry = store.get_entry(image_id)
    assert entry is not None
    return {"url": media.url(str(entry.original_key))}


def _fetch(url: str) -> int:
    import requests

    return requests.get(url, timeout=10).status_code


def test_hiding_an_image_never_published_needs_its_workspace(api: Any, make_tenant: Any, admin: Any) -> None:
    tenant = make_tenant()
    (image,) = seed_images(tenant, ["never shown"])
    folder = call(api, "POST", "/v1/folders", tenant, {"name": "Shared"})[1]["folder"]["id"]
    call(api, "PATCH", f"/v1/images/{image}", tenant, {"folder_id": folder})
    link = call(api, "POST", "/v1/shares", tenant, {"target": {"type": "folder", "id": folder}, "permission": "view"})[1]
    token = link["share"]["url"].rsplit("/s/", 1)[1]
    assert len(call(api, "GET", f"/s/{token}")[1]["items"]) == 1
    status, body, _ = call(api, "POST", f"/admin/api/images/{image}/hide", admin, {"reason": "r"})
    assert status == 404 and "workspace_id" in body["error"]["message"]
    other = make_tenant()
    assert (
        call(api, "POST", f"/admin/api/images/{image}/hide", admin, {"reason": "r", "workspace_id": other.workspace_id})[0] == 404
    )
    status, body, _ = call(
        api, "POST", f"/admin/api/images/{image}/hide", admin, {"reason": "r", "workspace_id": tenant.workspace_id}
    )
    assert status == 200 and body["changed"] is True
    assert call(api, "GET", f"/s/{token}")[1]["items"] == []
    assert case_of(api, admin, image, "hidden") is not None
    assert call(api, "POST", f"/admin/api/images/{image}/hide", tenant, {"reason": "r"})[0] == 403


def test_dismissing_closes_a_case_and_a_new_report_opens_it(api: Any, make_tenant: Any, admin: Any) -> None:
    from chalicelib.gallery import feedback

    tenant = make_tenant()
    (image,) = seed_images(tenant, ["harmless"])
    publish(api, tenant, image)
    feedback.report(image, "other", None, "192.0.2.1")
    status, body, _ = call(api, "POST", f"/admin/api/reports/{image}/dismiss", admin, {"reason": "not a problem"})
    assert status == 200 and body["status"] == "dismissed" and body["decision_reason"] == "not a problem"
    assert case_of(api, admin, image, "dismissed") is not None and case_of(api, admin, image) is None
    status, body, _ = call(api, "POST", f"/admin/api/reports/{image}/dismiss", admin, {"reason": "twice"})
    assert status == 409 and body["error"]["code"] == "conflict"
    feedback.report(image, "spam", None, "192.0.2.2")
    reopened = case_of(api, admin, image)
    assert reopened is not None and reopened["reports"] == 2
    assert call(api, "POST", "/admin/api/reports/img_nothing/dismiss", admin, {"reason": "x"})[0] == 404
    assert gallery_ids(api, "?q=harmless") == [image]  # dismissing hides nothing


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/api/images/img_x/hide", {}, "reason"),
        ("/admin/api/images/img_x/hide", {"reason": ""}, "reason"),
        ("/admin/api/images/img_x/hide", {"reason": "r" * 501}, "reason"),
        ("/admin/api/images/img_x/hide", {"reason": "r", "workspace_id": "ws/../x"}, "workspace_id"),
        ("/admin/api/images/img_x/hide", {"reason": "r", "why": "x"}, "why"),
        ("/admin/api/reports/img_x/dismiss", {}, "reason"),
        ("/admin/api/reports?status=closed", None, "status"),
        ("/admin/api/reports?state=open", None, "state"),
        ("/admin/api/reports?cursor=abc", None, "cursor"),
    ],
)
def test_bad_moderation_input_is_400(api: Any, admin: Any, path: str, body: dict[str, Any] | None, field: str) -> None:
    method = "GET" if body is None else "POST"
    status, answer, _ = call(api, method, path, admin, body)
    assert status == 400 and answer["error"]["field"] == field, answer


def test_report_cases_page_newest_first(api: Any, make_tenant: Any, admin: Any) -> None:
    from chalicelib.gallery import feedback

    tenant = make_tenant()
    images = seed_images(tenant, [f"paged case {n}" for n in range(7)])
    for image in images:
        publish(api, tenant, image)
    for n, image in enumerate(images):
        feedback.report(image, "spam", None, f"192.0.2.{200 + n}")
    listed: list[str] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = call(api, "GET", f"/admin/api/reports{query}", admin)[1]
        listed += [c["image_id"] for c in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    mine = [i for i in listed if i in images]
    assert mine == list(reversed(images)) and len(listed) == len(set(listed))
