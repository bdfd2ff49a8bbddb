"""Templates over real HTTP against the local stack: create one, make a job from it, edit it,
and see the job keep the version it used."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TEMPLATE = {
    "name": "Lighthouse",
    "prompt": "A {mood} lighthouse on {coast}, {count} seagulls, {{watercolor}}",
    "variables": {
        "mood": {"type": "enum", "enum": ["calm", "stormy"], "default": "calm"},
        "coast": {"type": "string", "max_length": 40},
        "count": {"type": "integer", "min": 0, "max": 9, "default": 2},
    },
    "size": "256x256",
    "tags": ["coast"],
    "visibility": "workspace",
}


def _auth(stack: Stack) -> dict[str, str]:
    r = requests.post(
        f"{stack.base}/admin/api/workspaces",
        headers=stack.admin(),
        json={"name": "Templates", "owner_email": "templates@acme.test", "plan": "starter"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}", "Content-Type": "application/json"}


def test_a_job_from_a_template_on_the_local_stack(stack: Stack):
    auth = _auth(stack)
    headers = {**auth, "Idempotency-Key": "e2e-template"}
    r = requests.post(f"{stack.base}/v1/templates", headers=headers, json=TEMPLATE, timeout=10)
    assert r.status_code == 201, r.text
    template = r.json()["template"]
    again = requests.post(f"{stack.base}/v1/templates", headers=headers, json=TEMPLATE, timeout=10)
    assert again.status_code == 201 and again.json() == r.json() and again.headers["Idempotent-Replayed"] == "true"

    body = {"template_id": template["id"], "variables": {"coast": "a {mood} cliff", "mood": "stormy"}}
    r = requests.post(f"{stack.base}/v1/jobs", headers=auth, json=body, timeout=10)
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert job["prompt"] == "A stormy lighthouse on a {mood} cliff, 2 seagulls, {watercolor}"
    assert (job["template_id"], job["template_version"]) == (template["id"], 1)

    bad = requests.post(
        f"{stack.base}/v1/jobs", headers=auth, json={**body, "variables": {"coast": "x", "count": 10}}, timeout=10
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "variables.count"

    r = requests.patch(
        f"{stack.base}/v1/templates/{template['id']}", headers=auth, json={"prompt": "{mood} {coast} {count}"}, timeout=10
    )
    assert r.status_code == 200 and r.json()["template"]["version"] == 2

    done = wait_for(
        lambda: (
            (j := requests.get(f"{stack.base}/v1/jobs/{job['id']}", headers=auth, timeout=10).json()["job"])["status"]
            in ("succeeded", "failed")
            and j
        ),
        timeout=30,
    )
    assert done["status"] == "succeeded" and done["template_version"] == 1 and done["prompt"] == job["prompt"]
    png = requests.get(done["images"][0]["url"], timeout=10).content
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (256, 256)

    listed = requests.get(f"{stack.base}/v1/templates?scope=workspace&q=lighthouse", headers=auth, timeout=10).json()
    assert [t["id"] for t in listed["data"]] == [template["id"]]
    usage = requests.get(f"{stack.base}/v1/templates/{template['id']}", headers=auth, timeout=10).json()["template"]["usage"]
    assert usage == {"uses": 1, "workspaces": 1}
