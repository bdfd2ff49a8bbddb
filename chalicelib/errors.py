"""The error codes of API.md in one place, as typed exceptions that carry their details.

Services raise these; the HTTP middleware turns them into the error envelope
`{"error": {"code", "message", "request_id", ...extra}}` with the matching status.
"""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError


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
