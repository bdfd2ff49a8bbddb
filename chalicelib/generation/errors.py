"""What the job use cases refuse, as domain kinds (the API layer maps them to statuses in one place).

Admission's own refusals (`accounting.errors.Denied`) are translated here, in one place, into
the kinds the API knows, keeping the details API.md promises: `scope` and `retry_after` on a
rate limit, `required`/`available` or `quota` on a 402, and the RateLimit-* headers of the
tightest window on every refusal that knows them (429, and 402/403 too).
"""

from __future__ import annotations

from typing import Any

from chalicelib.accounting.admission import RateStatus
from chalicelib.accounting.errors import Denied, RateLimitDenied
from chalicelib.domain import (
    Banned,
    Conflict,
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    PaymentRequired,
    Throttled,
    Unavailable,
)


def rate_limit_headers(rate: RateStatus | None) -> dict[str, str]:
    """The RateLimit-* headers of a rate status (none when admission did not report one)."""
    if rate is None:
        return {}
    return {"RateLimit-Limit": str(rate.limit), "RateLimit-Remaining": str(rate.remaining), "RateLimit-Reset": str(rate.reset)}


class JobNotFound(NotFound):
    """No such job in the caller's workspace (another tenant's job is not found either)."""


class ImageNotFound(NotFound):
    """No such image in the caller's workspace."""


class InvalidJob(InvalidInput):
    """The job asks for something that cannot be: `field` names the culprit."""


class NotCancelable(Conflict):
    """Only a queued job can be canceled; `status_now` says where this one is."""

    def __init__(self, status_now: str) -> None:
        super().__init__(f"only queued jobs can be canceled; this one is {status_now}", status_now=status_now)


class AdmissionUnavailable(Unavailable):
    """Admission did not reach a definite answer; the same Idempotency-Key can be retried."""

    code = "service_unavailable"


class _WithHeaders(DomainError):
    """A refusal that carries the RateLimit-* headers of the request it refused."""

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.headers = headers or {}


class RateLimited(Throttled):
    code = "rate_limited"


class InsufficientCredits(_WithHeaders, PaymentRequired):
    code = "insufficient_credits"


class QuotaExceeded(_WithHeaders, PaymentRequired):
    code = "quota_exceeded"


class AccountBanned(_WithHeaders, Banned):
    code = "account_banned"


class ProviderNotAllowed(_WithHeaders, NotAllowed):
    code = "forbidden"


_REFUSALS: dict[str, type[_WithHeaders]] = {
    "insufficient_credits": InsufficientCredits,
    "quota_exceeded": QuotaExceeded,
    "banned": AccountBanned,
    "provider_not_allowed": ProviderNotAllowed,
}


def refusal(denied: Denied) -> DomainError:
    """The domain error for an admission refusal; its `code` is also what the denial log keeps."""
    if isinstance(denied, RateLimitDenied):
        headers = {"RateLimit-Limit": str(denied.limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(denied.reset)}
        return RateLimited(denied.message, scope=denied.scope, retry_after=denied.retry_after, headers=headers)
    kind = _REFUSALS.get(denied.reason)
    if kind is None:  # contention, no wallet: nothing the caller did
        return AdmissionUnavailable(denied.message)
    details = {k: v for k, v in denied.details.items() if k != "scope"}
    rate = denied.rate if isinstance(denied.rate, RateStatus) else None
    return kind(denied.message, headers=rate_limit_headers(rate), **details)
