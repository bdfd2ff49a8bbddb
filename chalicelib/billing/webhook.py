"""The Stripe webhook endpoint's logic: verify the signature on the raw body, then apply."""

from __future__ import annotations

from chalicelib.billing import config
from chalicelib.billing.events import Result, apply_event
from chalicelib.errors import InvalidRequest
from chalicelib.observability import count

TOLERANCE_S = 300


def receive(raw_body: bytes, signature: str | None) -> Result:
    """400 (nothing changes) on a missing, wrong or stale signature; else apply the event."""
    import stripe

    if not signature:
        count("WebhookEvents", type="unknown", result="bad_signature")
        raise InvalidRequest("missing Stripe-Signature header", field="Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(raw_body, signature, config.secret("STRIPE_WEBHOOK_SECRET"),
                                               tolerance=TOLERANCE_S)
    except stripe.SignatureVerificationError:
        count("WebhookEvents", type="unknown", result="bad_signature")
        raise InvalidRequest("invalid or stale Stripe signature", field="Stripe-Signature") from None
    except ValueError:
        raise InvalidRequest("the body is not a Stripe event") from None
    from chalicelib.store import bind_models

    bind_models()
    return apply_event(event.to_dict())
