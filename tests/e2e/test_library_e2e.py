"""The library over real HTTP on the local stack: upload through the presigned POST to the
stack's moto, complete, tag, share, and download through the public link."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _owner(stack: Stack) -> dict[str, str]:
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Showcases", "owner_email": "owner@showcase.test", "plan": "starter"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}


def _png_with_gps() -> bytes:
    image = Image.new("RGB", (320, 200), (20, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "TrailCam"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif.tobytes())
    return out.getvalue()


def test_upload_complete_tag_share_download(stack: Stack) -> None:
    auth = _owner(stack)
    data = _png_with_gps()
    r = requests.post(
        f"{stack.base}/v1/uploads",
        headers=auth,
        json={"filename": "launch hero.png", "content_type": "image/png", "bytes": len(data)},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    upload = r.json()["upload"]
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("hero.png", data, "image/png")}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    r = requests.post(f"{stack.base}/v1/uploads/{upload['id']}/complete", headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    image = r.json()["image"]
    assert image["kind"] == "upload" and (image["width"], image["height"]) == (320, 200)
    r = requests.patch(f"{stack.base}/v1/images/{image['id']}", headers=auth, json={"tags": ["Launch", "hero shot"]}, timeout=10)
    assert r.status_code == 200 and r.json()["image"]["tags"] == ["launch", "hero shot"]
    listed = requests.get(f"{stack.base}/v1/images?tag=launch&kind=upload", headers=auth, timeout=10).json()["data"]
    assert [i["id"] for i in listed] == [image["id"]]
    r = requests.post(
        f"{stack.base}/v1/shares",
        headers=auth,
        json={"target": {"type": "image", "id": image["id"]}, "permission": "download"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    link = r.json()["share"]["url"]
    assert link.startswith(stack.base + "/s/")
    shared = requests.get(link, timeout=30)  # no key
    assert shared.status_code == 200, shared.text
    assert image["id"] not in shared.text
    (item,) = shared.json()["items"]
    original = requests.get(item["download_url"], timeout=10)
    assert original.status_code == 200
    assert b"TrailCam" not in original.content and b"TrailCam" in data
    with Image.open(io.BytesIO(original.content)) as png:
        assert png.format == "PNG" and png.size == (320, 200) and not png.getexif()
    r = requests.delete(f"{stack.base}/v1/shares/{r.json()['share']['id']}", headers=auth, timeout=10)
    assert r.status_code == 204
    assert requests.get(link, timeout=10).status_code == 404


def test_export_is_built_by_the_stacks_worker_and_downloaded(stack: Stack) -> None:
    """POST /v1/exports → the local stack's exports poller builds the zip → GET says ready with a
    URL that downloads it (everything over HTTP, nothing called in-process)."""
    import zipfile

    from tests.stack import wait_for

    auth = _owner(stack)
    r = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={"prompt": "an exported lighthouse", "n": 2}, timeout=10)
    assert r.status_code == 202, r.text
    job_url = f"{stack.base}/v1/jobs/{r.json()['job']['id']}"
    job = wait_for(lambda: (j := requests.get(job_url, headers=auth, timeout=10).json()["job"])["status"] == "succeeded" and j)
    ids = [image["id"] for image in job["images"]]
    r = requests.post(f"{stack.base}/v1/exports", headers=auth, json={"image_ids": ids}, timeout=10)
    assert r.status_code == 202 and r.json()["export"]["status"] == "queued", r.text
    export_url = f"{stack.base}/v1/exports/{r.json()['export']['id']}"
    done = wait_for(lambda: (e := requests.get(export_url, headers=auth, timeout=10).json()["export"])["status"] == "ready" and e)
    archive = zipfile.ZipFile(io.BytesIO(requests.get(done["url"], timeout=30).content))
    assert archive.namelist() == [f"{i}.png" for i in ids] + ["manifest.json"]
