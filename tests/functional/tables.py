"""Every table of the app, read raw: for "changes nothing" snapshots and the secret scan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chalicelib.aws import client
from chalicelib.settings import get_settings
from chalicelib.store.models import ALL_MODELS


def table_names() -> list[str]:
    """One per pynamodb model in ALL_MODELS (the idempotency table included)."""
    settings = get_settings()
    return [settings.table_name(model.table_suffix) for model in ALL_MODELS]


def scan(table: str) -> Iterator[dict[str, Any]]:
    """Every item of one table, in DynamoDB's wire format, all pages."""
    paginator = client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=table, ConsistentRead=True):
        yield from page.get("Items", [])


def snapshot() -> dict[str, list[str]]:
    """All items of all tables, canonical and sorted: equal snapshots mean nothing was written."""
    return {table: sorted(json.dumps(item, sort_keys=True) for item in scan(table)) for table in table_names()}


def strings(value: Any) -> Iterator[str]:
    """Every string inside an attribute value (S, SS, L, M, B and JSON text within them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray):
        yield bytes(value).decode("utf-8", "replace")
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from strings(inner)
    elif isinstance(value, list | tuple | set):
        for inner in value:
            yield from strings(inner)
    elif value is not None:
        yield str(value)
