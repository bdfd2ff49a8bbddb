"""Prefixed ULIDs (`job_01J…`): unique, and they sort by creation time."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from chalicelib import clock

_CROCKFORD = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
PREFIXES = ("job", "img", "ws", "usr", "key", "tpl", "col", "led", "aud", "evt", "den")


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id whose time part is `at` (default: the installed clock's now)."""
    from ulid import ULID

    moment = at or clock.now()
    return f"{prefix}_{ULID.from_timestamp(moment.timestamp())}"


def ulid_bound(at: datetime, *, upper: bool) -> str:
    """The smallest (or largest) ULID string at millisecond `at`: for time-range key queries."""
    from ulid import ULID

    millis = int(at.timestamp() * 1000)
    raw = millis.to_bytes(6, "big") + (b"\xff" * 10 if upper else b"\x00" * 10)
    return str(ULID.from_bytes(raw))


def id_time(prefixed: str) -> datetime:
    """The creation time encoded in a prefixed ULID."""
    from ulid import ULID

    return ULID.from_str(prefixed.split("_", 1)[1]).datetime


def is_id(value: str, prefix: str) -> bool:
    """True when `value` looks like `<prefix>_<26 char ULID>`."""
    head, _, tail = value.partition("_")
    if head != prefix or len(tail) != 26:
        return False
    # Crockford base32, first char <= 7 (48-bit time): checked here without importing ulid.
    return tail[0] in "01234567" and all(c in _CROCKFORD for c in tail.upper())


def new_secret(live: bool = False) -> str:
    """An API key secret: `sk_test_…`/`sk_live_…` with 256 bits of randomness."""
    return f"sk_{'live' if live else 'test'}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """Only this hash is stored; a key's secret is shown once."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
