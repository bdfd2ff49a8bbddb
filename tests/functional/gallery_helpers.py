"""Helpers for the gallery's functional tests: images with real objects (fast, without jobs),
publishing, collections, and the public gallery read as anyone."""

from __future__ import annotations

import io
from typing import Any

from chalicelib import clock, ids
from tests.conftest import Tenant
from tests.functional.helpers import call

GENEROUS = {"GALLERY_READS_PER_MINUTE": "100000", "GALLERY_LIKES_PER_MINUTE": "100000", "GALLERY_REPORTS_PER_MINUTE": "100000"}


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 40, 200)).save(out, format="JPEG")
    return out.getvalue()


def seed_images(
    tenant: Tenant,
    prompts: list[str],
    *,
    tags: list[list[str]] | None = None,
    provider: str = "local",
    model: str = "local-v1",
    user_id: str | None = None,
) -> list[str]:
    """Image rows as settlement writes them (index rows first), each with a real PNG and JPEG
    thumbnail in the bucket, so publishing and public previews work without running jobs."""
    from chalicelib.aws import client
    from chalicelib.library.changes import index_rows
    from chalicelib.settings import get_settings
    from chalicelib.store import images as image_store
    from chalicelib.store import library_index
    from chalicelib.store.models import ImageModel

    s3, bucket, now = client("s3"), get_settings().images_bucket, clock.now()
    rows = []
    for n, prompt in enumerate(prompts):
        image_id = ids.new_id("img", now)
        key = f"images/{tenant.workspace_id}/seed/{image_id}.png"
        s3.put_object(Bucket=bucket, Key=key, Body=_png(), ContentType="image/png")
        s3.put_object(Bucket=bucket, Key=key + ".thumb.jpg", Body=_jpeg(), ContentType="image/jpeg")
        row = image_store.new_image(
            tenant.workspace_id, image_id, job_id="job_seed", user_id=user_id or tenant.user_id, s3_key=key,
            width=8, height=8, content_type="image/png", size_bytes=100, source_image_id=None, kind="generate",
            created_at=now, prompt=prompt, provider=provider, model=model,
        )  # fmt: skip
        row.thumb_key = key + ".thumb.jpg"
        row.tags = list(tags[n]) if tags else []
        rows.append(row)
    library_index.put_facets(tenant.workspace_id, index_rows(rows))
    with ImageModel.batch_write() as batch:
        for row in rows:
            batch.save(row)
    return [str(row.image_id) for row in rows]


def publish(api: Any, tenant: Tenant, image_id: str, status: int = 200) -> dict[str, Any]:
    got, body, _ = call(api, "POST", f"/v1/images/{image_id}/publish", tenant)
    assert got == status, body
    return body


def gallery(api: Any, query: str = "", headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    """GET /v1/gallery as anyone (no key)."""
    return call(api, "GET", f"/v1/gallery{query}", headers=headers)


def gallery_ids(api: Any, query: str = "") -> list[str]:
    status, body, _ = gallery(api, query)
    assert status == 200, body
    return [item["id"] for item in body["data"]]


def every_page(api: Any, path: str, limit: int, tenant: Any = None) -> list[str]:
    """Follow next_cursor to the end; the ids of every page, in order."""
    seen: list[str] = []
    cursor: str | None = None
    sep = "&" if "?" in path else "?"
    for _ in range(200):
        query = f"{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        status, body, _ = call(api, "GET", path + query, tenant)
        assert status == 200, body
        assert len(body["data"]) <= limit
        seen += [item["id"] for item in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def collection(api: Any, tenant: Tenant, visibility: str = "private", name: str = "Album", **extra: Any) -> dict[str, Any]:
    status, body, _ = call(api, "POST", "/v1/collections", tenant, {"name": name, "visibility": visibility, **extra})
    assert status == 201, body
    return dict(body["collection"])


def add(api: Any, tenant: Tenant, collection_id: str, image_ids: list[str]) -> dict[str, Any]:
    status, body, _ = call(api, "POST", f"/v1/collections/{collection_id}/items", tenant, {"image_ids": image_ids})
    assert status == 200, body
    return body
