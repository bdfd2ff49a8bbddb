"""Powertools Idempotency, set up once: the table and client every idempotent path shares
(`Idempotency-Key` on mutating POSTs in `api/idempotency.py`, one run per job in the worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.aws import client
from chalicelib.settings import get_settings


def idempotent(
    key_path: str, expires_after_s: int, *, data_keyword: str, payload_path: str | None = None
) -> tuple[Callable[[Callable[..., Any]], Callable[..., Any]], Any]:
    """(decorator, config): Powertools' `idempotent_function` on our idempotency table, keyed by
    `key_path` (JMESPath into the `data_keyword` argument), records kept `expires_after_s`; with
    `payload_path`, a replay whose payload differs is refused (IdempotencyValidationError).
    Built lazily: the table name comes from the settings and the client must follow moto."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(table_name=get_settings().table_name("idempotency"), boto3_client=client("dynamodb"))
    config = IdempotencyConfig(
        event_key_jmespath=key_path,
        payload_validation_jmespath=payload_path or "",
        expires_after_seconds=expires_after_s,
        raise_on_no_idempotency_key=True,
    )

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return idempotent_function(data_keyword_argument=data_keyword, persistence_store=persistence, config=config)(function)

    return decorate, config
