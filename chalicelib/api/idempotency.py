"""`Idempotency-Key` on mutating POSTs, with Powertools Idempotency: a replay returns the first
response (status, body, headers) and does nothing again; the same key with another body is 409
`idempotency_conflict`; a concurrent duplicate still in flight is 409 `conflict`.

Keys are scoped to the calling user and the route, so two tenants can use the same key.
Job admission has its own exactly-once guard too (the hold row), so even without this layer a
job is never admitted twice.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Callable

from chalice.app import Request, Response

from chalicelib.errors import Conflict, IdempotencyConflict, InvalidRequest

EXPIRES_S = 24 * 3600


@lru_cache(maxsize=1)
def _runner() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from chalicelib.aws import client
    from chalicelib.settings import get_settings

    persistence = DynamoDBPersistenceLayer(table_name=get_settings().table_name("idempotency"),
                                           boto3_client=client("dynamodb"))
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="body",
                               expires_after_seconds=EXPIRES_S, raise_on_no_idempotency_key=True)

    @idempotent_function(data_keyword_argument="data", persistence_store=persistence, config=config)
    def run(data: dict[str, str], handler: Callable[[], Response]) -> dict[str, Any]:
        response = handler()
        body = response.body if isinstance(response.body, str) else response.body.decode("utf-8")
        return {"status": response.status_code, "body": body, "headers": dict(response.headers)}

    return run, config


def reset() -> None:
    _runner.cache_clear()


def idempotent(request: Request, caller: str, handler: Callable[[], Response], lambda_context: Any = None) -> Response:
    """Run `handler` once per (caller, route, Idempotency-Key); without the header, just run it."""
    key = (request.headers or {}).get("idempotency-key")
    if key is None:
        return handler()
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1-255 printable characters", field="Idempotency-Key")
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    run, config = _runner()
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)  # a crashed request frees its key in time
    body_hash = hashlib.sha256(request.raw_body or b"").hexdigest()
    data = {"key": f"{caller}:{request.method}:{request.path}:{key}", "body": body_hash}
    first: list[bool] = []

    def once() -> Response:
        first.append(True)
        return handler()

    try:
        saved = run(data=data, handler=once)
    except IdempotencyValidationError:
        raise IdempotencyConflict("this Idempotency-Key was used with a different body") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from None
    headers = dict(saved["headers"])
    if not first:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=saved["body"], status_code=int(saved["status"]), headers=headers)
