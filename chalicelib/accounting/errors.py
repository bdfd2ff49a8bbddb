"""The accounting core's typed errors; the API layer maps them to HTTP answers."""

from __future__ import annotations


class AccountingError(Exception):
    """Base of the accounting core's errors."""


class UnknownPrice(AccountingError):
    def __init__(self, provider: str, model: str) -> None:
        super().__init__(f"no price for provider {provider!r} model {model!r}")
        self.provider = provider
        self.model = model


class Denied(AccountingError):
    """Admission refused; nothing was written."""

    def __init__(self, reason: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.reason = reason  # rate_limited | insufficient_credits | quota_exceeded | banned | ...
        self.message = message
        self.details = details
        self.rate: object | None = None  # admission.RateStatus when known (RateLimit-* headers)


class RateLimitDenied(Denied):
    def __init__(self, scope: str, retry_after: int, limit: int, reset: int, message: str | None = None) -> None:
        super().__init__("rate_limited", message or f"rate limit for {scope} exceeded", scope=scope)
        self.scope = scope
        self.retry_after = retry_after
        self.limit = limit
        self.reset = reset


class DuplicateAdmission(AccountingError):
    """The idempotency key was admitted before: the caller replays the existing job."""

    def __init__(self, job_id: str, request_hash: str | None) -> None:
        super().__init__(f"already admitted as {job_id}")
        self.job_id = job_id
        self.request_hash = request_hash


class InsufficientForAdjustment(AccountingError):
    """A negative adjustment would make `available` negative."""

    def __init__(self, available: int) -> None:
        super().__init__(f"only {available} credits available")
        self.available = available


# The transaction adapter's own errors, importable from here as before.
from chalicelib.store.transaction import AmbiguousWrite, Contention, TransactionFailed  # noqa: E402

__all__ = ["AmbiguousWrite", "Contention", "TransactionFailed"]
