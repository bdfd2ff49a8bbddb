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


# Times accepted from input (query strings, CLI flags): far enough for any real query, near enough
# that every year has four digits and every instant fits a ULID's millisecond clock.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
RANGE_TEXT = "2000-01-01 to 2100-12-31 (UTC)"


def parse_iso(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (Z or offset) or a YYYY-MM-DD date (UTC midnight) between
    EARLIEST and LATEST: the one parser for times that come from input. Raises ValueError."""
    text = value.strip()
    malformed = ValueError("expected an RFC 3339 timestamp or a YYYY-MM-DD date")
    if not 10 <= len(text) <= 40 or not text[:4].isdigit():
        raise malformed
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise malformed from None
    out_of_range = ValueError(f"must be within {RANGE_TEXT}")
    try:
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight by its offset
        raise out_of_range from None
    if not EARLIEST <= parsed <= LATEST:
        raise out_of_range
    return parsed
