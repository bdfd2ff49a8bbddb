"""Helpers for the library's functional tests: images made by real jobs, members of a workspace."""

from __future__ import annotations

from typing import Any

from chalicelib import clock, ids
from chalicelib.store.models import UserModel
from chalicelib.store.users import new_user
from chalicelib.tenancy.service import create_key
from tests.conftest import Tenant
from tests.functional.helpers import call, drain


def make_images(api: Any, tenant: Any, prompt: str, n: int = 1) -> list[str]:
    """n images made by a real job (admitted, run by the worker, settled)."""
    status, body, _ = call(api, "POST", "/v1/jobs", tenant, {"prompt": prompt, "n": n})
    assert status == 202, body
    drain()
    status, body, _ = call(api, "GET", f"/v1/jobs/{body['job']['id']}", tenant)
    assert body["job"]["status"] == "succeeded", body
    return [image["id"] for image in body["job"]["images"]]


def ids_of(api: Any, tenant: Any, query: str = "") -> list[str]:
    status, body, _ = call(api, "GET", f"/v1/images{query}", tenant)
    assert status == 200, body
    return [image["id"] for image in body["data"]]


def member_of(tenant: Tenant, role: str) -> Tenant:
    """Another user of the tenant's workspace, with `role`, and a key."""
    now = clock.now()
    user = new_user(
        ids.new_id("usr", now), tenant.workspace_id, f"{role}{now.timestamp()}@example.test", role=role, is_admin=False, now=now
    )
    user.save(UserModel.user_id.does_not_exist())
    made = create_key(user, "test")
    return Tenant(tenant.workspace_id, user.user_id, made.key.key_id, made.secret)


def seed_images(tenant: Tenant, n: int, prompt: str = "seeded picture", user_id: str | None = None) -> list[str]:
    """n image rows written as settlement writes a job's (index rows first), without running jobs."""
    from chalicelib.library.changes import index_rows
    from chalicelib.store import images as image_store
    from chalicelib.store import library_index
    from chalicelib.store.models import ImageModel

    now = clock.now()
    rows = []
    for _ in range(n):
        image_id = ids.new_id("img", now)
        rows.append(
            image_store.new_image(
                tenant.workspace_id, image_id, job_id="job_seed", user_id=user_id or tenant.user_id,
                s3_key=f"images/{tenant.workspace_id}/seed/{image_id}.png", width=8, height=8,
                content_type="image/png", size_bytes=100, source_image_id=None, kind="generate",
                created_at=now, prompt=prompt, provider="local", model="local-v1",
            )
        )  # fmt: skip
    library_index.put_facets(tenant.workspace_id, index_rows(rows))
    with ImageModel.batch_write() as batch:
        for row in rows:
            batch.save(row)
    return [str(row.image_id) for row in rows]
