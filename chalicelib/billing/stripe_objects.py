"""The shapes of the Stripe events we act on, checked whole before anything is written.

Strict where money or identity is read (an amount is an integer, never a string or a bool; an id
is a bounded string; metadata maps strings to strings), and open to every field we do not read,
because Stripe adds fields over time. A signed event that does not fit is a permanent fault:
`parse` raises `Rejected`, and the dispatcher acknowledges and records it without a write.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib.billing.errors import Rejected

Id = Annotated[str, StringConstraints(min_length=1, max_length=255)]  # also bounds marker keys
Short = Annotated[str, StringConstraints(max_length=255)]
Cents = Annotated[int, Field(ge=0, le=10**12)]
Metadata = dict[Annotated[str, StringConstraints(max_length=40)], Annotated[str, StringConstraints(max_length=500)]]


class _Obj(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class Recurring(_Obj):
    interval: Short | None = None


class Price(_Obj):
    id: Id | None = None
    lookup_key: Short | None = None
    unit_amount: Cents | None = None
    currency: Short | None = None
    recurring: Recurring | None = None


class CheckoutSession(_Obj):
    id: Id
    mode: Short
    payment_status: Short | None = None
    client_reference_id: Short | None = None
    customer: Id | None = None
    metadata: Metadata | None = None
    payment_intent: Id | None = None
    subscription: Id | None = None
    invoice: Id | None = None
    amount_total: Cents | None = None
    currency: Short | None = None


class SubscriptionDetails(_Obj):
    subscription: Id | None = None
    metadata: Metadata | None = None


class InvoiceParent(_Obj):
    subscription_details: SubscriptionDetails | None = None


class PriceDetails(_Obj):
    price: Id | None = None


class LinePricing(_Obj):
    price_details: PriceDetails | None = None


class InvoiceLine(_Obj):
    amount: Annotated[int, Field(ge=-(10**12), le=10**12)] | None = None  # proration credits are negative
    price: Price | None = None  # API versions before 2025-03 (and the local fake)
    pricing: LinePricing | None = None


class LineList(_Obj):
    data: list[InvoiceLine] = Field(default_factory=list, max_length=1000)


class Invoice(_Obj):
    id: Id
    customer: Id | None = None
    subscription: Id | None = None  # API versions before 2025-03
    parent: InvoiceParent | None = None
    billing_reason: Short | None = None
    lines: LineList | None = None
    amount_paid: Cents | None = None
    currency: Short | None = None
    metadata: Metadata | None = None


class SubscriptionItem(_Obj):
    price: Price
    current_period_end: Cents | None = None


class ItemList(_Obj):
    data: list[SubscriptionItem] = Field(default_factory=list, max_length=100)


class Subscription(_Obj):
    id: Id
    status: Short
    customer: Id | None = None
    metadata: Metadata | None = None
    cancel_at_period_end: bool = False
    items: ItemList | None = None
    current_period_end: Cents | None = None  # API versions before 2025-03


class PaymentIntent(_Obj):
    id: Id
    amount: Cents
    currency: Short
    amount_received: Cents | None = None
    customer: Id | None = None
    metadata: Metadata | None = None
    payment_method: Id | None = None
    setup_future_usage: Short | None = None


class Charge(_Obj):
    id: Id
    amount: Cents
    amount_refunded: Cents
    currency: Short
    payment_intent: Id | None = None


class Dispute(_Obj):
    id: Id
    amount: Cents
    currency: Short
    charge: Id | None = None
    payment_intent: Id | None = None


T = TypeVar("T", bound=_Obj)


class EventData(_Obj, Generic[T]):
    object: T


class Event(_Obj, Generic[T]):
    id: Id
    type: Short
    created: Cents
    data: EventData[T]


class Envelope(_Obj):
    """What every event must have to be identified at all (else 400: Stripe always sends these)."""

    id: Id
    type: Short


OBJECTS: dict[str, type[_Obj]] = {
    "checkout.session.completed": CheckoutSession,
    "invoice.paid": Invoice,
    "invoice.payment_failed": Invoice,
    "customer.subscription.created": Subscription,
    "customer.subscription.updated": Subscription,
    "customer.subscription.deleted": Subscription,
    "payment_intent.succeeded": PaymentIntent,
    "payment_intent.payment_failed": PaymentIntent,
    "charge.refunded": Charge,
    "charge.dispute.created": Dispute,
}


def _first_error(exc: ValidationError) -> tuple[str, str | None]:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    return (f"{field}: {first.get('msg', 'invalid value')}" if field else first.get("msg", "invalid")), field


def envelope(body: Any) -> Envelope:
    """The event's id and type, or ValueError (the webhook answers 400)."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object (a Stripe event)")
    try:
        return Envelope.model_validate(body)
    except ValidationError as exc:
        raise ValueError(f"not a Stripe event: {_first_error(exc)[0]}") from None


def parse(event: dict[str, Any]) -> Event[Any]:
    """The whole event, typed for its `type` (a handled one), or `Rejected` naming the first fault."""
    kind = OBJECTS[str(event["type"])]
    try:
        return Event[kind].model_validate(event)  # type: ignore[valid-type]
    except ValidationError as exc:
        reason, field = _first_error(exc)
        raise Rejected(reason, field) from None


def meta(obj: Any) -> dict[str, str]:
    return dict(getattr(obj, "metadata", None) or {})
