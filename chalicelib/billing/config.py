"""Where billing talks to, read from the environment each time (tests and the local stack change
it). Secrets (the Stripe key, the webhook and hook secrets) come from `chalicelib.secrets`."""

from __future__ import annotations

import os


def api_base() -> str | None:
    """Where the Stripe SDK sends requests: Stripe itself, or the local fake."""
    return os.environ.get("STRIPE_API_BASE") or None


def public_base_url() -> str:
    """Where Checkout sends the customer back to (success and cancel pages)."""
    return os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")


def statement_hook_url() -> str | None:
    """Where invoiced workspaces' monthly statements are posted (none: only written to S3)."""
    return os.environ.get("BILLING_HOOK_URL") or None
