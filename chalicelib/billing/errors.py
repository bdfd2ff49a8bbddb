"""What billing reports to its callers, in the product's words: subclasses of the domain kinds
(`chalicelib.domain`), which `api` turns into the error envelope, plus `Rejected`, which never
leaves billing (the webhook acknowledges such an event and lists it for operators).
"""

from __future__ import annotations

from chalicelib.domain import Conflict, InvalidInput, TooLarge, Unavailable


class Rejected(Exception):
    """A signed Stripe event that can never be applied; `field` names the offending part when known.

    Not a domain error on purpose: the sender is Stripe, which must get a 2xx (or it retries
    forever), so `events.apply_event` records it and answers `rejected` instead of failing.
    """

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.field = field


class PriceMissing(Unavailable):
    """The Stripe account has no active price with a lookup key of our catalog (run stripe_setup)."""


class UnknownProduct(InvalidInput):
    """A checkout for a pack or a plan/interval the catalog does not sell."""


class SubscriptionExists(Conflict):
    """A workspace has one subscription: it changes or cancels it instead of starting another."""


class BilledByInvoice(Conflict):
    """The workspace is billed by invoice: it cannot buy by card (checkout, auto top-up)."""


class TopupAboveCap(InvalidInput):
    """An auto top-up amount larger than the monthly cap it must stay under."""


class BadSignature(InvalidInput):
    """A webhook delivery without a valid, fresh Stripe signature: nothing is read from it."""


class NotAnEvent(InvalidInput):
    """A verified webhook body that is not a Stripe event (Stripe always sends one)."""


class BodyTooLarge(TooLarge):
    """A webhook body over the size limit, refused before it is hashed."""


class WalletBusy(Unavailable):
    """Refunds and disputes of one payment kept racing each other; Stripe retries the event."""
