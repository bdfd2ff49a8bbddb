"""Billing settings, read lazily. Secrets come from the environment locally and from SSM
Parameter Store / Secrets Manager in AWS (the `*_PARAM` variables name the parameter)."""

from __future__ import annotations

import os
from functools import cache

from chalicelib.api.errors import ServiceUnavailable
from chalicelib.bootstrap import on_reset


@cache
def secret(name: str) -> str:
    """`NAME` from the environment, or the SSM parameter named by `NAME_PARAM` (read once)."""
    value = os.environ.get(name)
    if value:
        return value
    parameter = os.environ.get(f"{name}_PARAM")
    if parameter:
        from chalicelib.aws import client

        return str(client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"])
    raise ServiceUnavailable(f"billing is not configured ({name} is not set)")


def api_base() -> str | None:
    """Where the Stripe SDK sends requests: Stripe itself, or the local fake."""
    return os.environ.get("STRIPE_API_BASE") or None


def public_base_url() -> str:
    return os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")


def statement_hook_url() -> str | None:
    return os.environ.get("BILLING_HOOK_URL") or None


@on_reset
def reset() -> None:
    secret.cache_clear()
