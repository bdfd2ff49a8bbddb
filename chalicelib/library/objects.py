"""Object storage for the library: the one seam between the library and S3 or an S3-compatible
store (Cloudflare R2, MinIO...).

Objects the library writes live in the *library store*: uploads and thumbnails under
`images/<ws>/lib/...`, share copies under `images/shared/` (named per day, expired by a lifecycle
rule after SHARED_COPY_DAYS), export zips under `exports/<ws>/` (deleted after EXPORT_RETENTION).
The library store is the images bucket by default, or, when `LIBRARY_S3_ENDPOINT_URL` is set, the
bucket `LIBRARY_BUCKET` at that endpoint with the credentials `LIBRARY_S3_ACCESS_KEY_ID` /
`LIBRARY_S3_SECRET_ACCESS_KEY` (each also from SSM through `<NAME>_PARAM`, chalicelib.secrets)
and `LIBRARY_S3_REGION` ("auto" for R2). Generated images stay where the worker put them (the
images bucket). Presigned URLs and POSTs are SigV4 on both (what R2 requires).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from chalicelib import clock
from chalicelib.aws import client
from chalicelib.bootstrap import on_reset
from chalicelib.library import rules
from chalicelib.secrets import secret
from chalicelib.settings import get_settings

LIB = "/lib/"
SHARED = "images/shared/"
EXPORTS = "exports/"
PART_SIZE = 8 * 1024 * 1024  # multipart parts of one size (R2 wants every part but the last equal)
CHUNK = 1024 * 1024  # what a streamed read hands over at a time


@dataclass(frozen=True)
class Store:
    client: Any
    bucket: str


def library_key(workspace_id: str, item_id: str, name: str) -> str:
    """Deterministic keys: a retried write overwrites the same object."""
    return f"images/{workspace_id}/lib/{item_id}/{name}"


def staging_key(workspace_id: str, upload_id: str) -> str:
    """Where a presigned POST puts a raw upload: always the images bucket (S3), because R2 and
    other S3-compatible stores have no POST uploads; completion moves the clean image to the
    library store."""
    return f"images/{workspace_id}/uploads/{upload_id}"


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
    if LIB in key or key.startswith((SHARED, EXPORTS)):
        return _library_store()
    return Store(client("s3"), get_settings().images_bucket)


def url(key: str, *, download_name: str | None = None, expires_s: int | None = None) -> str:
    """A presigned GET, expiring after `expires_s` (default PRESIGN_EXPIRY_S)."""
    store = store_for(key)
    params: dict[str, Any] = {"Bucket": store.bucket, "Key": key}
    if download_name:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
    expires = expires_s or get_settings().presign_expiry_s
    return str(store.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))


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


def shared_copy(key: str, secret: str, day: str | None = None) -> str:
    """An opaque copy of an object for a public link (its key names no workspace and no image).

    `secret` (the link's token hash) keeps the name unguessable; `day` (UTC, today by default)
    names a new copy each day, so a lifecycle rule can expire copies after SHARED_COPY_DAYS while
    live links keep working (the next read copies again) and a revoked or expired link's copies go."""
    copy = shared_name(key, secret, day or clock.now().date().isoformat())
    if head_size(copy) is None:
        copy_object(key, copy)
    return copy


def shared_name(key: str, secret: str, day: str) -> str:
    digest = hashlib.sha256(f"{secret}\x00{key}\x00{day}".encode()).hexdigest()[:40]
    return f"{SHARED}{digest}.{key.rsplit('.', 1)[-1]}"


def shared_names(key: str, secret: str) -> list[str]:
    """Every copy of `key` a link may still have (one per day the lifecycle rule keeps)."""
    today = clock.now().date()
    return [shared_name(key, secret, (today - timedelta(days=n)).isoformat()) for n in range(rules.SHARED_COPY_DAYS + 1)]


def copy_object(source: str, target: str) -> None:
    """A server-side copy within one store; across stores (a generated image in the images bucket,
    copied into R2) the bytes are streamed from one to the other."""
    origin, destination = store_for(source), store_for(target)
    if origin.client is destination.client:
        destination.client.copy_object(Bucket=destination.bucket, Key=target, CopySource={"Bucket": origin.bucket, "Key": source})
        return
    found = origin.client.get_object(Bucket=origin.bucket, Key=source)
    with closing(found["Body"]) as body:
        extra = {"ContentType": found.get("ContentType") or "application/octet-stream"}
        destination.client.upload_fileobj(body, destination.bucket, target, ExtraArgs=extra)


def presigned_post(key: str, content_type: str, size: int, expires_s: int) -> dict[str, Any]:
    """A browser-ready POST: exactly this key, this Content-Type, at most `size` bytes."""
    store = store_for(key)
    conditions: list[Any] = [{"Content-Type": content_type}, ["content-length-range", 1, size]]
    return dict(
        store.client.generate_presigned_post(
            store.bucket, key, Fields={"Content-Type": content_type}, Conditions=conditions, ExpiresIn=expires_s
        )
    )


def stream(key: str) -> Iterator[bytes]:
    """The object's bytes in CHUNK pieces (never the whole object in memory)."""
    store = store_for(key)
    with closing(store.client.get_object(Bucket=store.bucket, Key=key)["Body"]) as body:
        yield from body.iter_chunks(CHUNK)


def head(key: str) -> tuple[int, dict[str, str]] | None:
    """(size, user metadata) of the object, or None when there is none."""
    from botocore.exceptions import ClientError

    store = store_for(key)
    try:
        found = store.client.head_object(Bucket=store.bucket, Key=key)
    except ClientError:
        return None
    return int(found["ContentLength"]), {str(k): str(v) for k, v in (found.get("Metadata") or {}).items()}


class PartWriter:
    """A write-only stream into one object, sent as a multipart upload of PART_SIZE parts: at
    most one part is in memory, whatever the object's size. Not seekable (zipfile then writes
    each member's sizes after its data)."""

    def __init__(self, key: str, content_type: str, metadata: dict[str, str]) -> None:
        self.key, self.store = key, store_for(key)
        made = self.store.client.create_multipart_upload(
            Bucket=self.store.bucket, Key=key, ContentType=content_type, Metadata=metadata
        )
        self.upload_id = str(made["UploadId"])
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self.written = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.written += len(data)
        while len(self.buffer) >= PART_SIZE:
            self._send(bytes(self.buffer[:PART_SIZE]))
            del self.buffer[:PART_SIZE]
        return len(data)

    def flush(self) -> None:
        """Parts go when full; zipfile's flushes change nothing."""

    def close(self) -> None:
        """The upload ends with `complete` or `abort`, never by closing the stream."""

    def _send(self, part: bytes) -> None:
        number = len(self.parts) + 1
        sent = self.store.client.upload_part(
            Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=part
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> int:
        """The last part, then the object appears whole (never a partial one); its size."""
        if self.buffer or not self.parts:
            self._send(bytes(self.buffer))
            self.buffer.clear()
        self.store.client.complete_multipart_upload(
            Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )
        return self.written

    def abort(self) -> None:
        """Drop the parts sent (the bucket's rule aborts what a crash leaves after a day)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id)
        except (BotoCoreError, ClientError):
            pass


@contextmanager
def part_writer(key: str, content_type: str, metadata: dict[str, str]) -> Iterator[PartWriter]:
    """A PartWriter completed when the block ends, aborted when it raises."""
    writer = PartWriter(key, content_type, metadata)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.complete()


def lifecycle_rules() -> list[dict[str, Any]]:
    """What the library store must expire by itself: share copies, export zips (a day after the
    app deletes them, should it not), and unfinished multipart uploads. The AWS stack sets the same
    rules on the images bucket (infra/stack.py); `python -m chalicelib.ops library-lifecycle` puts
    them on an S3-compatible library bucket (R2)."""
    keep_exports = rules.EXPORT_RETENTION.days + 1
    return [
        {"ID": "shared-copies-expire", "Filter": {"Prefix": SHARED}, "Status": "Enabled",
         "Expiration": {"Days": rules.SHARED_COPY_DAYS}},
        {"ID": "exports-expire", "Filter": {"Prefix": EXPORTS}, "Status": "Enabled", "Expiration": {"Days": keep_exports}},
        {"ID": "abort-incomplete-uploads", "Filter": {"Prefix": ""}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ]  # fmt: skip


def apply_lifecycle() -> dict[str, Any]:
    """Put `lifecycle_rules` on the library store's bucket (idempotent); what it holds after."""
    store = _library_store()
    store.client.put_bucket_lifecycle_configuration(Bucket=store.bucket, LifecycleConfiguration={"Rules": lifecycle_rules()})
    rules_now = store.client.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    return {"bucket": store.bucket, "rules": [rule["ID"] for rule in rules_now]}
