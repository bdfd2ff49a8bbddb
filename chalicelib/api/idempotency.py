"""`Idempotency-Key` on mutating POSTs, with Powertools Idempotency: a replay returns the first
response (status, body, headers, plus `Idempotent-Replayed: true`) and does nothing again; the
same key with another body is 409 `idempotency_conflict`; a concurrent duplicate still in flight
is 409 `conflict`. A response carrying a secret shown once (a new API key) is stored with the
secret redacted, so a replay returns the same key without its secret.

Keys are scoped to the calling user and the route, so two tenants can use the same key.
Job admission has its own exactly-once guard too (the hold row), so even without this layer a
job is never admitted twice.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any, Callable

from chalice.app import Request, Response

from chalicelib import idempotency as powertools_idempotency
from chalicelib.api.errors import Conflict, IdempotencyConflict, InvalidRequest
from chalicelib.bootstrap import on_reset

EXPIRES_S = 24 * 3600


@lru_cache(maxsize=1)
def _runner() -> tuple[Any, Any]:
    decorate, config = powertools_idempotency.idempotent("key", EXPIRES_S, data_keyword="data", payload_path="body")

    @decorate
    def run(data: dict[str, str], handler: Callable[[], Response]) -> dict[str, Any]:
        response = handler()
        body = response.body if isinstance(response.body, str) else response.body.decode("utf-8")
        return {"status": response.status_code, "body": body, "headers": dict(response.headers)}

    return run, config


@on_reset
def reset() -> None:
    _runner.cache_clear()


def idempotent(
    request: Request,
    caller: str,
    handler: Callable[[], Response],
    lambda_context: Any = None,
    *,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Response:
    """Run `handler` once per (caller, route, Idempotency-Key); without the header, just run it.

    `redact` rewrites the JSON body before it is stored: the first caller gets the real response,
    a replay gets the stored (redacted) one. Responses that carry a secret shown once use it, so
    the idempotency table never holds a secret.
    """
    key: str | None = request.headers.get("idempotency-key") if request.headers else None
    if key is None:
        return handler()
    data = _record_key(request, caller, key)
    run, config = _runner()
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)  # a crashed request frees its key in time
    first: list[Response] = []

    def once() -> Response:
        response = handler()
        first.append(response)
        return _redacted(response, redact) if redact is not None else response

    saved = _run_once(run, data, once)
    if first:
        return first[0]
    headers = {**saved["headers"], "Idempotent-Replayed": "true"}
    return Response(body=saved["body"], status_code=int(saved["status"]), headers=headers)


def _record_key(request: Request, caller: str, key: str) -> dict[str, str]:
    """What Powertools keys the record on (caller, method, path, key) and checks a replay
    against (a hash of the raw body)."""
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1-255 printable characters", field="Idempotency-Key")
    raw = request.raw_body or b""
    body_hash = hashlib.sha256(raw.encode() if isinstance(raw, str) else raw).hexdigest()
    return {"key": f"{caller}:{request.method}:{request.path}:{key}", "body": body_hash}


def _run_once(run: Any, data: dict[str, str], once: Callable[[], Response]) -> dict[str, Any]:
    """The stored response of the first call; Powertools' refusals as our 409s."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    try:
        saved: dict[str, Any] = run(data=data, handler=once)
    except IdempotencyValidationError:
        raise IdempotencyConflict("this Idempotency-Key was used with a different body") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from None
    return saved


def _redacted(response: Response, redact: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    """The response to store: its JSON body through `redact` (error answers are kept as they are)."""
    if response.status_code >= 400:
        return response
    raw = response.body if isinstance(response.body, str) else response.body.decode("utf-8")
    body = json.dumps(redact(json.loads(raw)), separators=(",", ":"))
    return Response(body=body, status_code=response.status_code, headers=dict(response.headers))


def secret_shown_once(field: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A `redact` for a response whose `field` holds a new secret: stored as null, with a note."""

    def redact(body: dict[str, Any]) -> dict[str, Any]:
        return {
            **body,
            field: None,
            "message": (
                f"replayed: `{field}` is shown only in the first response and is never stored; "
                "if it was lost, revoke this key and create a new one"
            ),
        }

    return redact
