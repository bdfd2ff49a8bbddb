"""Every Stripe call goes through here: one lazily built client, idempotency keys, and the
local fake Stripe API when `STRIPE_API_BASE` points at it (stripe is imported only here and in
the webhook's signature check: it is heavy, so never at module import)."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib import secrets
from chalicelib.billing import config
from chalicelib.billing.errors import PriceMissing
from chalicelib.bootstrap import on_reset

_lock = threading.Lock()
_client: Any = None


def client() -> Any:
    """The StripeClient, built once per container."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                import stripe

                base = config.api_base()
                kwargs: dict[str, Any] = {"max_network_retries": 2}
                if base:
                    kwargs["base_addresses"] = {"api": base}
                _client = stripe.StripeClient(secrets.secret("STRIPE_API_KEY"), **kwargs)
    return _client


@on_reset
def reset() -> None:
    """Forget the client (and the secrets it was built with): tests point it at a new fake."""
    global _client
    _client = None
    secrets.reset()


def price_by_lookup_key(lookup_key: str) -> Any:
    """The active price of our catalog with this lookup key; `PriceMissing` when the account lacks it."""
    prices = client().v1.prices.list(params={"lookup_keys": [lookup_key], "active": True, "limit": 1})
    if not prices.data:
        raise PriceMissing(f"no Stripe price with lookup_key {lookup_key!r}")
    return prices.data[0]


def ensure_customer(workspace_id: str, email: str | None, existing: str | None) -> str:
    """The workspace's customer, created once (the idempotency key makes a retry find the same)."""
    if existing:
        return existing
    customer = client().v1.customers.create(
        params={"email": email or "", "metadata": {"workspace_id": workspace_id}},
        options={"idempotency_key": f"customer:{workspace_id}"},
    )
    return str(customer.id)


def create_checkout_session(params: dict[str, Any], idempotency_key: str | None = None) -> Any:
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    return client().v1.checkout.sessions.create(params=params, options=options)


def expire_checkout_session(session_id: str) -> bool:
    """Expire an open session; False when it is no longer open (paid or expired already)."""
    import stripe

    try:
        client().v1.checkout.sessions.expire(session_id)
        return True
    except stripe.InvalidRequestError:
        return False


def create_off_session_payment(
    customer_id: str, payment_method: str | None, amount_cents: int, metadata: dict[str, str], idempotency_key: str
) -> Any:
    """An off-session PaymentIntent confirmed now with the saved payment method."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": "usd",
        "customer": customer_id,
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
        "description": "imagegen auto top-up",
    }
    if payment_method:
        params["payment_method"] = payment_method
    return client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
