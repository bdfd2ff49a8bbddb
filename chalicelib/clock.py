"""An injectable clock: tests move time across minutes and months without sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

UTC = UTC


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to (thread-safe)."""

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._at = self._at + timedelta(**delta)


_clock: Clock = Clock()


def now() -> datetime:
    """The current time from the installed clock."""
    return _clock.now()


def set_clock(clock: Clock) -> None:
    """Install a clock (tests); :func:`reset_clock` restores the wall clock."""
    global _clock
    _clock = clock


def reset_clock() -> None:
    set_clock(Clock())


def iso(at: datetime | None) -> str | None:
    """RFC 3339 UTC with a trailing Z, second precision (API.md's time format)."""
    if at is None:
        return None
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (Z or offset) or a date; raises ValueError."""
    text = value.strip()
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
