"""Lazily built, cached boto3 clients: moto (or AWS) must be configured before first use."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from chalicelib.bootstrap import on_reset
from chalicelib.settings import get_settings

_lock = threading.Lock()


@cache
def client(service: str) -> Any:
    """A boto3 client for `service`, built once per container (thread-safe creation)."""
    with _lock:
        import boto3
        from botocore.config import Config

        s = get_settings()
        config = Config(
            retries={"max_attempts": 4, "mode": "standard"},
            max_pool_connections=50,
            connect_timeout=5,
            read_timeout=20,
            s3={"addressing_style": "path"},
            signature_version="s3v4" if service == "s3" else None,  # presigned URLs: SigV4 (S3, R2)
        )
        return boto3.session.Session().client(service, region_name=s.region, endpoint_url=s.endpoint_url, config=config)


@cache
def queue_url(name: str) -> str:
    """Resolve a queue URL by name once per container."""
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


@on_reset
def reset_clients() -> None:
    """Drop cached clients (tests switch endpoints)."""
    client.cache_clear()
    queue_url.cache_clear()
