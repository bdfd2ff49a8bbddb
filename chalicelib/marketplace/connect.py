"""Stripe Connect, for creator payouts: Express accounts, onboarding links, transfers, and the
Connect webhook's signature. Calls go through the billing gateway's one lazily built client (the
local fake Stripe API when `STRIPE_API_BASE` points at it); stripe is imported only inside.

Connect events are signed with the Connect endpoint's own secret,
`STRIPE_CONNECT_WEBHOOK_SECRET` (or the SSM parameter named by `..._PARAM`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib.billing import config, gateway
from chalicelib.domain import InvalidInput, Unavailable
from chalicelib.marketplace import rules
from chalicelib.secrets import secret

TOLERANCE_S = 300
HANDLED_EVENTS = ("account.updated",)  # what the Connect endpoint listens to (scripts/stripe_setup.py)


class BadConnectSignature(InvalidInput):
    """A Connect webhook delivery whose Stripe-Signature does not verify (400, nothing changes)."""


class TransferRefused(Exception):
    """Stripe refused the transfer for good (an invalid request, an account that cannot receive it)."""


@dataclass(frozen=True)
class AccountState:
    """What we keep of a connected account."""

    account_id: str
    workspace_id: str | None
    payouts_enabled: bool
    details_submitted: bool


@contextmanager
def _stripe_answers() -> Iterator[None]:
    """Stripe failing or unreachable during onboarding: 503, retry later (nothing of ours changed)."""
    import stripe

    try:
        yield
    except stripe.StripeError as exc:
        raise Unavailable(f"Stripe did not complete the request ({type(exc).__name__}); retry later", retry_after=30) from None


def create_express_account(workspace_id: str) -> str:
    """A new Express account for the workspace (the idempotency key makes a retry find the same)."""
    with _stripe_answers():
        account = gateway.client().v1.accounts.create(
            params={
                "type": "express",
                "metadata": {"workspace_id": workspace_id},
                "capabilities": {"transfers": {"requested": True}},
            },
            options={"idempotency_key": f"connect-account:{workspace_id}"},
        )
    return str(account.id)


def onboarding_link(account_id: str) -> str:
    """A one-time Express onboarding URL (Stripe's pages; they send the creator back to us)."""
    base = config.public_base_url()
    with _stripe_answers():
        link = gateway.client().v1.account_links.create(
            params={
                "account": account_id,
                "refresh_url": f"{base}/payouts/onboarding/refresh",
                "return_url": f"{base}/payouts/onboarding/done",
                "type": "account_onboarding",
            }
        )
    return str(link.url)


def transfer(account_id: str, cents: int, workspace_id: str, payout_id: str, idempotency_key: str) -> str:
    """Send `cents` to the connected account; the transfer's id. TransferRefused when Stripe
    says no for good; Unavailable (retry later with the same key) when the answer is unknown."""
    import stripe

    try:
        made = gateway.client().v1.transfers.create(
            params={
                "amount": cents,
                "currency": rules.PAYOUT_CURRENCY,
                "destination": account_id,
                "metadata": {"workspace_id": workspace_id, "payout": payout_id},
            },
            options={"idempotency_key": idempotency_key},
        )
    except (stripe.InvalidRequestError, stripe.PermissionError, stripe.CardError) as exc:
        raise TransferRefused(str(getattr(exc, "user_message", None) or exc)) from None
    except stripe.StripeError:
        raise Unavailable("Stripe did not answer; retry with the same Idempotency-Key", retry_after=30) from None
    return str(made.id)


def verified_event(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if `signature` is Stripe's for this body with the Connect secret; else 400."""
    import stripe

    if not signature:
        raise BadConnectSignature("missing Stripe-Signature header", field="Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret("STRIPE_CONNECT_WEBHOOK_SECRET"), TOLERANCE_S)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise BadConnectSignature("invalid or stale Stripe signature", field="Stripe-Signature") from None
    except (ValueError, TypeError, AttributeError, RecursionError):  # signed, but not a JSON object
        raise BadConnectSignature("the body is not a Stripe event", field="body") from None
    data = event.to_dict() if hasattr(event, "to_dict") else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise BadConnectSignature("the body is not a Stripe event", field="body")
    return data


def account_state(obj: Any) -> AccountState | None:
    """An `account` object of an event, or None when it is not one we can read."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    metadata = obj.get("metadata")
    workspace = metadata.get("workspace_id") if isinstance(metadata, dict) else None
    return AccountState(
        account_id=obj["id"],
        workspace_id=workspace if isinstance(workspace, str) else None,
        payouts_enabled=obj.get("payouts_enabled") is True,
        details_submitted=obj.get("details_submitted") is True,
    )
