"""The platform's quota at each provider, as the workers spend it: at most `images_per_minute`
images per provider per clock minute, across every workspace (`plans.PROVIDER_QUOTAS`).

Before it calls a provider, the worker takes the job's images from the current minute's window
in ONE conditional counter update (`n + images <= quota`, on a counter row per provider and
minute that expires three minutes later). A full window is not an error: the job waits into the
next minute, its return spread over a few seconds so that the jobs deferred together do not all
come back at once. A job that took images but did not run after all (its workspace was at its
running cap) gives them back, so the window counts only calls that were made.

Invariant: a window's `n` never exceeds the provider's `images_per_minute` (the condition of
the update), and is the sum of the images of jobs that took it and did not give it back.

Admission's per-provider `requests_per_minute` is a different limit: how many jobs may be
admitted, not how many images the workers make.

Shards (DESIGN.md "Scale"): every worker of the platform takes from its provider's window, so a
quota above SHARD_IMAGES_PER_MINUTE is split over `shard_count` windows (`RL#pw#<provider>#<k>`)
whose quotas sum to it (`ratelimit.shard_limit`), and the invariant above holds per shard, hence
for their sum. A job takes from the shard its id hashes to; a full shard sends it to the next
one (at most TRIES in all), and a shard this process found full this minute is skipped without
a request. A job waits only when the shards it tried were full.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.accounting import keys, ratelimit
from chalicelib.accounting.plans import PROVIDER_QUOTAS
from chalicelib.bootstrap import on_reset
from chalicelib.observability import logger
from chalicelib.store.models import CounterModel

WINDOW_S = 60
MAX_WAIT_S = 900  # the longest delay SQS allows a message
KEEP_WINDOWS = 3  # minutes a window's counter row outlives its minute (TTL)
SHARD_IMAGES_PER_MINUTE = 18_000  # a full shard: at most 300 takes (write units) a second
TRIES = 3  # shards one take may try
_full: set[str] = set()  # window keys this process found full (their minute is over soon)


@dataclass(frozen=True)
class Slot:
    """The answer to "may this job call its provider now?"."""

    key: str | None  # the window taken (give it back with `give_back`); None when nothing was taken
    wait_s: int  # 0: go; otherwise seconds to wait for the next window

    @property
    def taken(self) -> bool:
        return self.key is not None


def window_of(now: datetime) -> tuple[int, int]:
    """(the minute's window number, seconds elapsed in it)."""
    return divmod(int(now.timestamp()), WINDOW_S)


def wait_for_next_window(elapsed_s: int, spread_s: int) -> int:
    """Seconds until just after the next window opens, spread by `spread_s` (1-5 s)."""
    return min(MAX_WAIT_S, WINDOW_S - elapsed_s + spread_s)


def shard_count(images_per_minute: int) -> int:
    return max(1, min(ratelimit.MAX_SHARDS, -(-images_per_minute // SHARD_IMAGES_PER_MINUTE)))


def window_key(provider: str, window: int, shard: int | None = None) -> str:
    """The window's counter: one per provider and minute, or per shard of a large quota."""
    base = keys.rate_key("pw", provider)
    return f"{base}#{window}" if shard is None else f"{base}#{shard}#{window}"


def _shards(provider: str, quota: int, window: int, spread: str) -> list[tuple[str, int]]:
    """(window key, quota) of the shards a take tries, in order, skipping those known full."""
    count = shard_count(quota)
    if count == 1:
        return [(window_key(provider, window), quota)]
    start = zlib.crc32(spread.encode("utf-8")) % count
    order = [(start + step) % count for step in range(count)]
    tried = [(window_key(provider, window, k), ratelimit.shard_limit(quota, count, k)) for k in order]
    return [(key, part) for key, part in tried if key not in _full][:TRIES]


def take(provider: str, images: int, now: datetime, spread: str) -> Slot:
    """Take `images` calls from the provider's current window: taken, full (wait), or free
    (a provider without a platform quota: nothing to take). `spread` (the job id) picks the
    first shard of a sharded quota."""
    quota = PROVIDER_QUOTAS.get(provider)
    if quota is None or quota.images_per_minute is None:
        return Slot(None, 0)
    window, elapsed = window_of(now)
    for key, limit in _shards(provider, quota.images_per_minute, window, spread):
        try:
            CounterModel(key).update(
                actions=[CounterModel.n.add(images), CounterModel.expires_at.set((window + KEEP_WINDOWS) * WINDOW_S)],
                condition=CounterModel.n.does_not_exist() | (CounterModel.n <= limit - images),
            )
        except UpdateError:
            if shard_count(quota.images_per_minute) > 1:
                _remember_full(key)
            continue
        return Slot(key, 0)
    return Slot(None, wait_for_next_window(elapsed, random.randint(1, 5)))


def _remember_full(key: str) -> None:
    """Keep the set small: windows are per minute, so old keys are useless soon."""
    if len(_full) > 10_000:
        _full.clear()
    _full.add(key)


@on_reset
def reset() -> None:
    _full.clear()


def give_back(key: str, images: int) -> None:
    """Undo `take` for a job that made no provider call after all; never raises (the window
    only over-counts until it expires)."""
    try:
        CounterModel(key).update(actions=[CounterModel.n.add(-images)], condition=CounterModel.n >= images)
    except UpdateError:
        logger.warning("could not give back a provider slot", extra={"error_code": "provider_slot_refund"})
