"""Images in S3: deterministic keys (a redelivered job overwrites, never duplicates)."""

from __future__ import annotations

from chalicelib.aws import client
from chalicelib.settings import get_settings


def image_key(workspace_id: str, job_id: str, index: int, ext: str = "png") -> str:
    return f"images/{workspace_id}/{job_id}/{index}.{ext}"


def put_image(key: str, data: bytes, content_type: str) -> None:
    client("s3").put_object(Bucket=get_settings().images_bucket, Key=key, Body=data, ContentType=content_type)


def get_image(key: str) -> bytes:
    return client("s3").get_object(Bucket=get_settings().images_bucket, Key=key)["Body"].read()


def presigned_url(key: str) -> str:
    s = get_settings()
    return client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": s.images_bucket, "Key": key}, ExpiresIn=s.presign_expiry_s
    )
