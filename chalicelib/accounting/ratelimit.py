"""Sliding-window rate limits, decided in the one admission transaction.

Semantics (documented in the README): each scope (user, workspace, API key, provider) has a
60 s window counter keyed by the window's index. A request is admitted when

    current + 1 + previous * (W - elapsed) / W  <=  limit

i.e. the sliding-window estimate of Cloudflare's limiter. The previous window's count is
final once its window is over (nothing writes to it any more), so a process caches it and the
admission stays one `TransactWriteItems`: the current window item is updated under the
precomputed condition `n <= threshold` (conditions cannot do arithmetic), and, while the
previous count is not yet known here, a ConditionCheck `n <= assumed` on the previous item
proves the assumption or returns the true count (ALL_OLD) for one retry.

Burst bound: in any interval of length d <= W at most `limit + limit * d / W` requests pass
(a fixed window allows 2 x limit within a few milliseconds around a boundary); within one
aligned window never more than `limit`.

Shards: a window written by every admission of the platform (a provider's) would be one hot
DynamoDB key. Its limit is split over `shard_count(limit)` windows, shard k holding
`shard_limit(limit, n, k)`; the shards' limits sum to the limit, so the bound above holds for
their sum and sharding never admits more. It may refuse while another shard has room: admission
then tries another shard (see admission.py), so it falls short of the limit only by what the
shards it did not try still hold.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

WINDOW_MS = 60_000
SHARD_ADMISSIONS_PER_MINUTE = 9_000  # 150 admissions/s x 2 write units = 300 units/s per key
MAX_SHARDS = 100


@dataclass(frozen=True)
class WindowCheck:
    """One scope's part of an admission: which items to touch and under which bounds."""

    scope: str  # user | workspace | key | provider
    base_key: str  # "RL#u#usr_…"
    limit: int
    window_index: int
    elapsed_ms: int
    previous: int | None  # the previous window's final count, when known
    threshold: int  # admit when the current count is <= this
    shards: int = 1  # how many windows share this scope's limit (`limit` is this one's part)

    @property
    def current_key(self) -> str:
        return f"{self.base_key}#{self.window_index}"

    @property
    def previous_key(self) -> str:
        return f"{self.base_key}#{self.window_index - 1}"

    @property
    def reset_seconds(self) -> int:
        """Seconds until the current window ends (RateLimit-Reset)."""
        return max(1, -(-(WINDOW_MS - self.elapsed_ms) // 1000))


def shard_count(limit: int) -> int:
    """How many windows a limit of `limit` per minute is split over: enough that a full shard
    takes at most 300 write units/s (DESIGN.md "Scale"), at most MAX_SHARDS."""
    return max(1, min(MAX_SHARDS, -(-limit // SHARD_ADMISSIONS_PER_MINUTE)))


def shard_limit(limit: int, shards: int, k: int) -> int:
    """Shard k's part of `limit`: limit // shards, plus one for the first limit % shards."""
    return limit // shards + (1 if k < limit % shards else 0)


def weighted_previous(previous: int, elapsed_ms: int) -> int:
    """ceil(previous * (W - elapsed) / W): the previous window's weight now, in whole requests."""
    return -(-previous * (WINDOW_MS - elapsed_ms) // WINDOW_MS)


def threshold(limit: int, previous: int, elapsed_ms: int) -> int:
    """The largest current count that still admits one more request (may be negative)."""
    return limit - 1 - weighted_previous(previous, elapsed_ms)


def plan_window(scope: str, base_key: str, limit: int, now_ms: int, previous: int | None, shards: int = 1) -> WindowCheck:
    """Where `now_ms` falls and the condition bound for one scope (or one shard of it)."""
    index, elapsed = divmod(now_ms, WINDOW_MS)
    assumed = previous if previous is not None else 0
    return WindowCheck(scope, base_key, limit, index, elapsed, previous, threshold(limit, assumed, elapsed), shards)


def retry_after_seconds(limit: int, current: int, previous: int, elapsed_ms: int) -> int:
    """Seconds until a request would pass, if nothing else arrives meanwhile (>= 1)."""
    if current + 1 > limit:
        # This window is full: wait for it to end, then until its count, now weighing as the
        # previous window, leaves room: current * (W - e') / W <= limit - 1.
        target_elapsed = WINDOW_MS - (WINDOW_MS * (limit - 1)) // current if current > 0 else 0
        return max(1, -(-(WINDOW_MS - elapsed_ms + max(0, target_elapsed)) // 1000))
    if previous <= 0:
        return 1
    # previous * (W - e') / W <= limit - 1 - current  =>  e' >= W * (1 - (limit-1-current)/previous)
    room = limit - 1 - current
    target_elapsed = WINDOW_MS - (WINDOW_MS * room) // previous
    return max(1, -(-(target_elapsed - elapsed_ms) // 1000))


class FinalCounts:
    """Previous windows' final counts, learned once per process (thread-safe, bounded)."""

    # Declared here, not in __init__: mutmut's type-check pass copies __init__ once per mutant
    # into the class, and mypy refuses an attribute annotated in two methods.
    _data: dict[str, int]

    def __init__(self, max_entries: int = 50_000) -> None:
        self._data = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str) -> int | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, count: int) -> None:
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            self._data[key] = count

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def observe(self, key: str, at_least: int) -> int:
        """Raise the known count of a window to `at_least` (what a denial's ALL_OLD showed)."""
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            value = max(self._data.get(key, 0), at_least)
            self._data[key] = value
            return value

    def increment(self, key: str) -> int:
        """Count one admission seen by this process in a window; returns the new lower bound."""
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            value = self._data.get(key, 0) + 1
            self._data[key] = value
            return value
