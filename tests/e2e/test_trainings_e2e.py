"""Custom model training over real HTTP on the local stack: five uploads of one colour, a
training run by the stack's trainings poller, and a job naming the trained model whose picture
visibly takes that colour (against the same job without it)."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image, ImageDraw

from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
TEAL = (20, 170, 160)


def _owner(stack: Stack) -> dict[str, str]:
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Style studio", "owner_email": "owner@style.test", "plan": "starter"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}


def _upload(stack: Stack, auth: dict[str, str], shade: int) -> str:
    image = Image.new("RGB", (160, 120), tuple(min(255, c + shade) for c in TEAL))
    ImageDraw.Draw(image).rectangle((0, 0, 50, 120), fill=(10, 120, 110))
    data = io.BytesIO()
    image.save(data, format="PNG")
    body = {"filename": f"ref{shade}.png", "content_type": "image/png", "bytes": len(data.getvalue())}
    upload = requests.post(f"{stack.base}/v1/uploads", headers=auth, json=body, timeout=10).json()["upload"]
    posted = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("r.png", data.getvalue(), "image/png")}, timeout=10
    )
    assert posted.status_code in (200, 201, 204), posted.text
    r = requests.post(f"{stack.base}/v1/uploads/{upload['id']}/complete", headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["image"]["id"])


def _finished(stack: Stack, auth: dict[str, str], path: str, key: str) -> dict:
    def done() -> dict | None:
        item = requests.get(f"{stack.base}{path}", headers=auth, timeout=10).json()[key]
        return item if item["status"] in ("succeeded", "failed", "canceled") else None

    return wait_for(done, timeout=60)


def _mean(url: str) -> list[float]:
    with Image.open(io.BytesIO(requests.get(url, timeout=10).content)) as picture:
        pixels = picture.convert("RGB").resize((64, 64)).getdata()
        return [sum(p[i] for p in pixels) / len(pixels) for i in range(3)]


def test_a_trained_style_reaches_a_job_over_http(stack: Stack) -> None:
    auth = _owner(stack)
    uploads = [_upload(stack, auth, shade) for shade in range(0, 25, 5)]
    r = requests.post(f"{stack.base}/v1/trainings", headers=auth, json={"name": "teal", "upload_ids": uploads}, timeout=10)
    assert r.status_code == 202, r.text
    training = _finished(stack, auth, f"/v1/trainings/{r.json()['training']['id']}", "training")
    assert training["status"] == "succeeded", training
    body = {"prompt": "a red barn in a field", "seed": 3, "size": "256x256"}
    plain = requests.post(f"{stack.base}/v1/jobs", headers=auth, json=body, timeout=10).json()["job"]
    styled = requests.post(f"{stack.base}/v1/jobs", headers=auth, json={**body, "model": training["model"]}, timeout=10).json()[
        "job"
    ]
    plain = _finished(stack, auth, f"/v1/jobs/{plain['id']}", "job")
    styled = _finished(stack, auth, f"/v1/jobs/{styled['id']}", "job")
    assert plain["status"] == styled["status"] == "succeeded", (plain, styled)
    before, after = _mean(plain["images"][0]["url"]), _mean(styled["images"][0]["url"])
    distance = [sum(abs(a - b) for a, b in zip(colour, TEAL, strict=True)) for colour in (before, after)]
    assert distance[1] < distance[0] - 60, (before, after)
