"""Object storage for the library: the one seam between the library and S3 or an S3-compatible
store (Cloudflare R2, MinIO...).

Objects the library writes (uploads, thumbnails, exports) live under `images/<ws>/lib/...` in
the *library store*: the images bucket by default, or, when `LIBRARY_S3_ENDPOINT_URL` is set, the
bucket `LIBRARY_BUCKET` at that endpoint with the credentials `LIBRARY_S3_ACCESS_KEY_ID` /
`LIBRARY_S3_SECRET_ACCESS_KEY` (each also from SSM through `<NAME>_PARAM`, chalicelib.secrets)
and `LIBRARY_S3_REGION` ("auto" for R2). Generated images stay where the worker put them (the
images bucket). Presigned URLs and POSTs are SigV4 on both (what R2 requires).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from chalicelib.aws import client
from chalicelib.bootstrap import on_reset
from chalicelib.secrets import secret
from chalicelib.settings import get_settings

LIB = "/lib/"
SHARED = "images/shared/"


@dataclass(frozen=True)
class Store:
    client: Any
    bucket: str


def library_key(workspace_id: str, item_id: str, name: str) -> str:
    """Deterministic keys: a retried write overwrites the same object."""
    return f"images/{workspace_id}/lib/{item_id}/{name}"


def keys_of(image: Any) -> list[str]:
    """Every object an image may have: the original, its thumbnail, a share preview."""
    keys = [str(image.s3_key), library_key(str(image.workspace_id), str(image.image_id), "preview.jpg")]
    return keys + ([str(image.thumb_key)] if image.thumb_key else [])


@cache
def _library_store() -> Store:
    endpoint = os.environ.get("LIBRARY_S3_ENDPOINT_URL")
    if not endpoint:
        return Store(client("s3"), get_settings().images_bucket)
    import boto3
    from botocore.config import Config

    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("LIBRARY_S3_REGION", "auto"),
        aws_access_key_id=secret("LIBRARY_S3_ACCESS_KEY_ID"),
        aws_secret_access_key=secret("LIBRARY_S3_SECRET_ACCESS_KEY"),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 4, "mode": "standard"}),
    )
    return Store(s3, os.environ.get("LIBRARY_BUCKET") or get_settings().images_bucket)


@on_reset
def reset() -> None:
    _library_store.cache_clear()


def store_for(key: str) -> Store:
    """The library store for keys the library wrote, the images bucket for the worker's."""
    if LIB in key or key.startswith(SHARED):
        return _library_store()
    return Store(client("s3"), get_settings().images_bucket)


def url(key: str, *, download_name: str | None = None) -> str:
    """A presigned GET, expiring after PRESIGN_EXPIRY_S."""
    store = store_for(key)
    params: dict[str, Any] = {"Bucket": store.bucket, "Key": key}
    if download_name:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
    return str(store.client.generate_presigned_url("get_object", Params=params, ExpiresIn=get_settings().presign_expiry_s))


def put(key: str, data: bytes, content_type: str) -> None:
    store = store_for(key)
    store.client.put_object(Bucket=store.bucket, Key=key, Body=data, ContentType=content_type)


def head_size(key: str) -> int | None:
    """The object's size, or None when there is no such object."""
    from botocore.exceptions import ClientError

    store = store_for(key)
    try:
        return int(store.client.head_object(Bucket=store.bucket, Key=key)["ContentLength"])
    except ClientError:
        return None


def read(key: str, limit: int) -> bytes:
    """At most `limit` bytes of the object (a larger one is refused before it is read whole)."""
    store = store_for(key)
    body = store.client.get_object(Bucket=store.bucket, Key=key)["Body"]
    return bytes(body.read(limit + 1))


def delete(keys: list[str]) -> None:
    """Delete objects (1,000 per request); deleting what is gone already is not an error."""
    by_store: dict[tuple[int, str], tuple[Store, list[str]]] = {}
    for key in keys:
        store = store_for(key)
        by_store.setdefault((id(store.client), store.bucket), (store, []))[1].append(key)
    for store, names in by_store.values():
        for start in range(0, len(names), 1000):
            objects = [{"Key": name} for name in names[start : start + 1000]]
            store.client.delete_objects(Bucket=store.bucket, Delete={"Objects": objects, "Quiet": True})


def shared_copy(key: str, secret: str) -> str:
    """An opaque copy of an object for a public link (its key names no workspace and no image),
    made once by a server-side copy. `secret` (the link's token hash) keeps the name unguessable."""
    copy = shared_name(key, secret)
    store = store_for(key)
    if head_size(copy) is None:
        target = _library_store()
        target.client.copy_object(Bucket=target.bucket, Key=copy, CopySource={"Bucket": store.bucket, "Key": key})
    return copy


def shared_name(key: str, secret: str) -> str:
    """Where `shared_copy` puts the copy of `key` for `secret` (to delete it without copying)."""
    digest = hashlib.sha256(f"{secret}\x00{key}".encode()).hexdigest()[:40]
    return f"{SHARED}{digest}.{key.rsplit('.', 1)[-1]}"


def presigned_post(key: str, content_type: str, size: int, expires_s: int) -> dict[str, Any]:
    """A browser-ready POST: exactly this key, this Content-Type, at most `size` bytes."""
    store = store_for(key)
    conditions: list[Any] = [{"Content-Type": content_type}, ["content-length-range", 1, size]]
    return dict(
        store.client.generate_presigned_post(
            store.bucket, key, Fields={"Content-Type": content_type}, Conditions=conditions, ExpiresIn=expires_s
        )
    )
