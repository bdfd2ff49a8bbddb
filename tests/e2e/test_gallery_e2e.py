"""The gallery over real HTTP against the local stack: an image made by a job is published, found
without a key (with cache headers and a 304), put in an unlisted collection, reported, and hidden
by a platform admin: gone from the gallery, the collection and its share link."""

from __future__ import annotations

import pytest
import requests

from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _owner(stack: Stack) -> dict[str, str]:
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Gallery", "owner_email": "gallery@acme.test", "plan": "starter"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}


def _image(stack: Stack, auth: dict[str, str]) -> str:
    job = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "an albatross over kelp"}, timeout=10).json()[
        "job"
    ]
    url = f"{stack.base}/v1/jobs/{job['id']}"
    done = wait_for(
        lambda: (found := requests.get(url, headers=auth, timeout=10).json()["job"])["status"] == "succeeded" and found
    )
    return str(done["images"][0]["id"])


def test_publish_find_collect_report_and_hide_over_http(stack: Stack) -> None:
    base, auth = stack.base, _owner(stack)
    image = _image(stack, auth)
    assert requests.post(f"{base}/v1/images/{image}/publish", headers=auth, timeout=30).json()["image"]["visibility"] == "public"
    found = requests.get(f"{base}/v1/gallery", params={"q": "albatross"}, timeout=10)
    assert found.status_code == 200 and [i["id"] for i in found.json()["data"]] == [image]
    assert found.headers["Cache-Control"] == "public, max-age=30" and int(found.headers["RateLimit-Remaining"]) >= 0
    cached = requests.get(
        f"{base}/v1/gallery", params={"q": "albatross"}, headers={"If-None-Match": found.headers["ETag"]}, timeout=10
    )
    assert cached.status_code == 304 and cached.content == b""
    assert requests.get(found.json()["data"][0]["preview_url"], timeout=10).status_code == 200

    album = requests.post(f"{base}/v1/collections", headers=auth, json={"name": "Birds", "visibility": "unlisted"}, timeout=10)
    assert album.status_code == 201, album.text
    album_id = album.json()["collection"]["id"]
    added = requests.post(f"{base}/v1/collections/{album_id}/items", headers=auth, json={"image_ids": [image]}, timeout=10)
    assert added.json()["collection"]["item_count"] == 1
    public = requests.get(f"{base}/v1/gallery/collections/{album_id}", timeout=30).json()
    assert [i["id"] for i in public["data"]] == [image] and public["collection"]["creator"].startswith("cr_")
    link = requests.post(
        f"{base}/v1/shares",
        headers=auth,
        json={"target": {"type": "collection", "id": album_id}, "permission": "view"},
        timeout=10,
    ).json()["share"]["url"]
    assert len(requests.get(link, timeout=30).json()["items"]) == 1

    report = requests.post(f"{base}/v1/gallery/reports", json={"image_id": image, "reason": "spam"}, timeout=10)
    assert report.status_code == 201 and report.json()["report"]["counted"] is True
    cases = requests.get(f"{base}/admin/api/reports", headers=stack.admin(), timeout=10).json()["data"]
    assert [c["image_id"] for c in cases] == [image]
    hidden = requests.post(
        f"{base}/admin/api/images/{image}/hide", headers=stack.admin(), json={"reason": "spam ring"}, timeout=10
    )
    assert hidden.status_code == 200 and hidden.json()["changed"] is True
    assert requests.get(f"{base}/v1/gallery", params={"q": "albatross"}, timeout=10).json()["data"] == []
    assert requests.get(f"{base}/v1/gallery/collections/{album_id}", timeout=10).json()["data"] == []
    assert requests.get(link, timeout=10).json()["items"] == []
