"""Per-client rate limits of the public routes (no key: the client address is who calls).

Like the share links' (library.shares): one-minute windows per client and scope, counted by one
conditional write each (store.gallery.count_hit), the address kept only as a hash. The limits
per minute come from the environment so an operator can tune them without a deploy of code:
GALLERY_READS_PER_MINUTE (default 120: listings, collections), GALLERY_LIKES_PER_MINUTE (30),
GALLERY_REPORTS_PER_MINUTE (10).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Generic, TypeVar

from chalicelib import clock
from chalicelib.gallery import rules
from chalicelib.gallery.errors import ClientRateLimited
from chalicelib.store import gallery as store

T = TypeVar("T")
WINDOW_S = 60
DEFAULTS = {"reads": 120, "likes": 30, "reports": 10}


@dataclass(frozen=True)
class Window:
    """Where the client stands in its current window (the RateLimit-* headers)."""

    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


@dataclass(frozen=True)
class Metered(Generic[T]):
    """A public answer and the client's window after it was counted."""

    value: T
    window: Window


def limit_of(scope: str) -> int:
    raw = os.environ.get(f"GALLERY_{scope.upper()}_PER_MINUTE", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULTS[scope]


def admit(scope: str, address: str) -> Window:
    """Count one request of `address` in `scope`; ClientRateLimited (429) when its minute is full."""
    now = clock.now().timestamp()
    window = int(now // WINDOW_S)
    reset = max(1, int((window + 1) * WINDOW_S - now))
    limit = limit_of(scope)
    used = store.count_hit(scope, rules.client_key(address), window, limit, (window + 2) * WINDOW_S)
    if used is None:
        headers = Window(limit, 0, reset).headers()
        raise ClientRateLimited(
            f"too many {scope} from this address: at most {limit} a minute", scope="client", retry_after=reset, headers=headers
        )
    return Window(limit, max(0, limit - used), reset)
