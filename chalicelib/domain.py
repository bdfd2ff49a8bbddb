"""The kinds of failure a use case can report, in the product's words, with no HTTP in them.

Services raise these (or an area's subclass: `accounting.errors`, `billing.errors`,
`generation.errors`, `tenancy.errors`); `chalicelib.api.errors.to_api_error` is the one place
that turns a kind into a status and an envelope code. Details travel as keyword arguments and
end up in the envelope next to `code` and `message` (e.g. `field`, `scope`, `quota`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service reports to its caller."""

    code: str | None = None  # a more precise error code than the kind's, when the contract names one

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    """The request asks for something that cannot be (a bad value, a missing source image)."""

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        if field is not None:
            details["field"] = field
        super().__init__(message, **details)


class NotAuthenticated(DomainError):
    """No caller could be established (no, unknown or revoked credentials)."""


class Banned(DomainError):
    """The caller's workspace or user is banned."""


class NotAllowed(DomainError):
    """The caller is known but may not do this (role, plan, another tenant's admin object)."""


class NotFound(DomainError):
    """No such object for this caller (another tenant's objects are not found either)."""


class Conflict(DomainError):
    """The object's state does not allow it now (a running job cannot be canceled)."""


class RepeatedKey(Conflict):
    """An idempotency key was used before with another request."""


class PaymentRequired(DomainError):
    """Not enough credits, or a credit/token quota of the period is used up (`code` says which)."""


class Throttled(DomainError):
    """A rate limit or a queue cap: come back after `retry_after` seconds."""

    def __init__(
        self, message: str, *, scope: str, retry_after: int, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message, scope=scope, retry_after=retry_after, **details)
        self.scope = scope
        self.retry_after = retry_after
        self.headers = headers or {}


class TooLarge(DomainError):
    """The request is larger than the service accepts."""


class Unavailable(DomainError):
    """A dependency is missing or did not answer definitely; retrying later is safe."""

    def __init__(self, message: str, *, retry_after: int | None = None, **details: Any) -> None:
        if retry_after is not None:
            details["retry_after"] = retry_after
        super().__init__(message, **details)
        self.retry_after = retry_after


class Misconfigured(Unavailable):
    """The deployment is missing a setting or a secret it needs."""
