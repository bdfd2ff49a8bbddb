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

from chalicelib.api.errors import InvalidRequest, PayloadTooLarge
from chalicelib.billing import config
from chalicelib.billing.events import Result, apply_event
from chalicelib.billing.stripe_objects import envelope
from chalicelib.observability import count

TOLERANCE_S = 300


def _signed_at(header: str) -> int:
    """The `t=` of a header `verify_header` accepted (it reads the first one, as we do)."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise ValueError("no timestamp")


def _verify(raw_body: bytes, signature: str | None) -> None:
    import stripe

    try:
        stripe.WebhookSignature.verify_header(raw_body, signature, config.secret("STRIPE_WEBHOOK_SECRET"),
                                              TOLERANCE_S)
        if _signed_at(str(signature)) > time.time() + TOLERANCE_S:  # delivery time, not business time
            raise stripe.SignatureVerificationError("timestamp in the future", signature)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        count("WebhookEvents", type="unknown", result="bad_signature")
        raise InvalidRequest("invalid or stale Stripe signature", field="Stripe-Signature") from None


def receive(raw_body: bytes, signature: str | None) -> Result:
    """413 over the size limit; 400 (nothing changes) on a missing, wrong, stale or future
    signature or a body that is not an event; else apply the event (2xx, even when rejected)."""
    from chalicelib.settings import get_settings

    limit = get_settings().max_body_bytes
    if len(raw_body) > limit:
        count("WebhookEvents", type="unknown", result="too_large")
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    if not signature:
        count("WebhookEvents", type="unknown", result="bad_signature")
        raise InvalidRequest("missing Stripe-Signature header", field="Stripe-Signature")
    _verify(raw_body, signature)
    try:
        body = json.loads(raw_body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        count("WebhookEvents", type="unknown", result="not_an_event")
        raise InvalidRequest("the body is not a Stripe event (invalid JSON)") from None
    try:
        head = envelope(body)
    except ValueError as exc:
        count("WebhookEvents", type="unknown", result="not_an_event")
        raise InvalidRequest(str(exc)) from None
    from chalicelib.store import bind_models

    bind_models()
    return apply_event({**body, "id": head.id, "type": head.type})
