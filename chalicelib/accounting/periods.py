"""Periods live in keys: a month is "2026-11", a quota day "2026-11-25"."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.clock import UTC


def period_of(at: datetime) -> str:
    """The allowance period (calendar month, UTC) containing `at`."""
    return at.astimezone(UTC).strftime("%Y-%m")


def day_of(at: datetime) -> str:
    """The quota day (UTC) containing `at`."""
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a period."""
    year, month = (int(part) for part in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_period(period: str) -> str:
    start, _ = period_bounds(period)
    return period_of(start - timedelta(days=1))


def next_period(period: str) -> str:
    _, end = period_bounds(period)
    return period_of(end)


def days_between(start: datetime, end: datetime) -> list[str]:
    """Every quota day from `start` to `end` inclusive (for rollup reads)."""
    days: list[str] = []
    cursor = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    while cursor <= end:
        days.append(day_of(cursor))
        cursor += timedelta(days=1)
    return days
