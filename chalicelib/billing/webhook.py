"""The Stripe webhook endpoint's logic: size, signature, freshness, shape — then apply.

Order matters: the size limit comes first (413 without hashing a huge body), then
`stripe.WebhookSignature.verify_header` on the raw body (the library check: HMAC and
`t=` no older than the tolerance), then our own check that `t=` is not in the future either.
That check runs after verification on purpose: before it, `t=` is whatever the sender wrote;
after it, the timestamp is authenticated (it is part of what was signed), so a future one means
a signer with a skewed clock or a pre-signed replay, and both get the same 400 as a stale one.
A verified body that is not a JSON object with a string `id` and `type` is 400 too: Stripe
always sends an event object, so anything else is a bug or an attacker holding the secret, and
nothing changes either way.
"""

from __future__ import annotations

import json
import time

from chalicelib.billing.errors import BadSignature, BodyTooLarge, NotAnEvent
from chalicelib.billing.events import Result, apply_event
from chalicelib.billing.stripe_objects import envelope
from chalicelib.bootstrap import ready
from chalicelib.observability import count
from chalicelib.secrets import secret
from chalicelib.settings import get_settings

TOLERANCE_S = 300


def _signed_at(header: str) -> int:
    """The `t=` of a header `verify_header` accepted (it reads the first one, as we do)."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise ValueError("no timestamp")


def _verify(payload: bytes, signature: str) -> None:
    import stripe

    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret("STRIPE_WEBHOOK_SECRET"), TOLERANCE_S)
        if _signed_at(signature) > time.time() + TOLERANCE_S:  # delivery time, not business time
            raise ValueError("timestamp in the future")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        count("WebhookEvents", type="unknown", result="bad_signature")
        raise BadSignature("invalid or stale Stripe signature", field="Stripe-Signature") from None


def _event(payload: bytes) -> dict[str, object]:
    """The verified body as an event with a string `id` and `type`, or `NotAnEvent`."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        count("WebhookEvents", type="unknown", result="not_an_event")
        raise NotAnEvent("the body is not a Stripe event (invalid JSON)") from None
    try:
        head = envelope(body)
    except ValueError as exc:
        count("WebhookEvents", type="unknown", result="not_an_event")
        raise NotAnEvent(str(exc)) from None
    return {**body, "id": head.id, "type": head.type}


def receive(payload: bytes, signature: str | None) -> Result:
    """One delivery of Stripe's: the signed payload exactly as sent (the signature covers its
    bytes) and its Stripe-Signature header. 413 over the size limit; 400 (nothing changes) on a
    missing, wrong, stale or future signature or a body that is not an event; else the event is
    applied (2xx, even when rejected)."""
    limit = get_settings().max_body_bytes
    if len(payload) > limit:
        count("WebhookEvents", type="unknown", result="too_large")
        raise BodyTooLarge(f"the body is larger than {limit} bytes")
    if not signature:
        count("WebhookEvents", type="unknown", result="bad_signature")
        raise BadSignature("missing Stripe-Signature header", field="Stripe-Signature")
    _verify(payload, signature)
    event = _event(payload)
    ready()
    return apply_event(event)
