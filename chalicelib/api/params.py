"""Query parameters of the account and admin reads: time ranges and the admin filters, parsed
into typed values (400 naming the parameter when one is malformed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib import clock
from chalicelib.api.errors import InvalidRequest
from chalicelib.lazy import lazy_module

if TYPE_CHECKING:
    import chalicelib.tenancy.reports as reports_module
else:
    reports_module = lazy_module("chalicelib.tenancy.reports")

MAX_RANGE = timedelta(days=366)


def known(params: dict[str, str], allowed: tuple[str, ...]) -> dict[str, str]:
    """`params`, if every name is one the route takes; a misspelt filter is a 400, never silently
    ignored (an operator would read an unfiltered report as a filtered one)."""
    for name in params:
        if name not in allowed:
            raise InvalidRequest(f"unknown parameter {name!r}; known: {', '.join(allowed) or 'none'}", field=name)
    return params


MAX_ID_CHARS = 100


def parse_time(params: dict[str, str], name: str) -> datetime | None:
    """One time parameter (`from`, `to`, `at`) through the one parser; 400 naming it when bad."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return clock.parse_iso(raw)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: {exc} (RFC 3339 or YYYY-MM-DD, within {clock.RANGE_TEXT})", field=name) from None


def date_range(params: dict[str, str], default_days: int = 30) -> tuple[datetime, datetime]:
    """`from`/`to` as RFC 3339 or dates; defaults to the last `default_days` days; max 366."""
    end = parse_time(params, "to") or clock.now()
    start = parse_time(params, "from") or max(end - timedelta(days=default_days), clock.EARLIEST)
    if start > end:
        raise InvalidRequest("from must not be after to", field="from")
    if end - start > MAX_RANGE:
        raise InvalidRequest("the range may span at most 366 days", field="from")
    return start, end


def _identifier(params: dict[str, str], name: str) -> str | None:
    """An id or a provider/model name: letters, digits, `-`, `_` and `.`, at most 100."""
    value = params.get(name, "").strip() or None
    if value is not None and (
        len(value) > MAX_ID_CHARS or not value.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise InvalidRequest(f"{name} is not a valid identifier", field=name)
    return value


def filters(params: dict[str, str]) -> reports_module.Filters:
    """The admin views' `workspace_id`, `user_id`, `provider` and `model`."""
    return reports_module.Filters(
        workspace_id=_identifier(params, "workspace_id"),
        user_id=_identifier(params, "user_id"),
        provider=_identifier(params, "provider"),
        model=_identifier(params, "model"),
    )


# --- analytics ---------------------------------------------------------------------------------


def identifier(params: dict[str, str], name: str) -> str | None:
    """An optional id or provider/model filter, by the admin filters' rule (400 naming it)."""
    return _identifier(params, name)


def choice(params: dict[str, str], name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    """An optional parameter that must be one of `allowed` (400 naming it otherwise)."""
    value = params.get(name, default)
    if value is not None and value not in allowed:
        raise InvalidRequest(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value
