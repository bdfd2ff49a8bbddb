"""What the marketplace refuses, as domain kinds (`chalicelib.api.errors` maps them to HTTP)."""

from __future__ import annotations

from chalicelib.domain import Conflict, InvalidInput, NotAllowed, NotFound, PaymentRequired


class ListingNotFound(NotFound):
    """No such listing for this caller (never listed, hidden by a moderator, or a bad id)."""

    def __init__(self, listing_id: str) -> None:
        super().__init__(f"listing {listing_id} not found")


class TemplateNotYours(NotFound):
    """The template to list is not one of the workspace's own (or does not exist)."""


class NotListable(Conflict):
    """The template cannot be listed (not public, or listed already)."""


class BadListing(InvalidInput):
    """A listing's input the rules refuse (a template that is not the workspace's, a price)."""


class OwnListing(NotAllowed):
    """A workspace cannot buy (or rate) its own listing."""


class AlreadyPurchased(Conflict):
    """The workspace owns this template already (re-buying is refused)."""


class NotForSale(Conflict):
    """The listing is no longer sold (hidden by a moderator, or withdrawn by its seller)."""


class PriceChanged(Conflict):
    """The seller repriced the listing between the buyer's read and the charge; nothing was charged."""


class NotBought(NotAllowed):
    """Only a workspace that bought the template may rate it."""


class NotEnoughCredits(PaymentRequired):
    """The buyer's wallet cannot pay the price; nothing changed."""

    code = "insufficient_credits"


class PurchaseNotFound(NotFound):
    """No purchase of this listing by that workspace (or it was refunded already)."""


class NotRefundable(Conflict):
    """The creator's earnings from the sale were paid out already: a refund cannot take them back."""


class PayoutRefused(Conflict):
    """A payout cannot happen now (no account, payouts not enabled, not enough earnings)."""


class PayoutAmount(InvalidInput):
    """A payout amount outside the bounds."""


class PayoutFailed(Conflict):
    """Stripe refused the transfer; the credits are back in the available earnings."""
