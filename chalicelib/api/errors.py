"""The error codes of API.md in one place: HTTP errors with their status and envelope.

Only `chalicelib/api` raises these. Services raise the domain errors of `chalicelib.domain`;
`to_api_error` (below) is the one mapping from those to a status and an envelope
`{"error": {"code", "message", "request_id", ...extra}}`, applied to every route by
`api.routing.route`.
"""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError

from chalicelib import domain


class ApiError(ChaliceUnhandledError):
    """Base of every error that becomes an HTTP answer.

    It derives from ChaliceUnhandledError because that is the one exception Chalice lets
    propagate out of a view to the middleware, which renders the error envelope.
    """

    status: int = 400
    code: str = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self, request_id: str) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "request_id": request_id, **self.extra}}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None:
            extra["field"] = field
        super().__init__(message, **extra)


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class InsufficientCredits(ApiError):
    status, code = 402, "insufficient_credits"


class QuotaExceeded(ApiError):
    status, code = 402, "quota_exceeded"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class AccountBanned(ApiError):
    status, code = 403, "account_banned"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class IdempotencyConflict(ApiError):
    status, code = 409, "idempotency_conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, scope: str, retry_after: int, headers: dict[str, str] | None = None) -> None:
        merged = {"Retry-After": str(retry_after), **(headers or {})}
        super().__init__(message, headers=merged, scope=scope, retry_after=retry_after)
        self.scope = scope
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"


# --- the one place where a domain error becomes an HTTP answer ------------------------------------

_KINDS: tuple[tuple[type[domain.DomainError], int, str], ...] = (
    (domain.NotAuthenticated, 401, "unauthenticated"),
    (domain.Banned, 403, "account_banned"),
    (domain.NotAllowed, 403, "forbidden"),
    (domain.NotFound, 404, "not_found"),
    (domain.RepeatedKey, 409, "idempotency_conflict"),
    (domain.Conflict, 409, "conflict"),
    (domain.PaymentRequired, 402, "insufficient_credits"),
    (domain.Throttled, 429, "rate_limited"),
    (domain.TooLarge, 413, "payload_too_large"),
    (domain.InvalidInput, 400, "invalid_request"),
    (domain.Unavailable, 503, "service_unavailable"),
)


def _status_of(error: domain.DomainError) -> tuple[int, str]:
    for kind, status, code in _KINDS:
        if isinstance(error, kind):
            return status, code
    return 500, "internal_error"


def is_client_error(exc: BaseException) -> bool:
    """True when `exc` is answered with a 4xx: the client's mistake, not a bug to report."""
    if isinstance(exc, ApiError):
        return exc.status < 500
    return isinstance(exc, domain.DomainError) and _status_of(exc)[0] < 500


def to_api_error(error: domain.DomainError) -> ApiError:
    """The status and envelope of a domain error: by its kind, with its own code when it has one."""
    status, code = _status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, domain.Throttled):
        headers = {"Retry-After": str(error.retry_after), **error.headers}
    elif isinstance(error, domain.Unavailable) and error.retry_after is not None:
        headers = {"Retry-After": str(error.retry_after)}
    else:  # any other kind may carry headers of its own (a refused admission's RateLimit-* on a 402)
        headers = dict(getattr(error, "headers", None) or {})
    return ApiError(error.message, code=error.code or code, status=status, headers=headers, **error.details)
