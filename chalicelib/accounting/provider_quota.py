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
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.accounting import keys
from chalicelib.accounting.plans import PROVIDER_QUOTAS
from chalicelib.observability import logger
from chalicelib.store.models import CounterModel

WINDOW_S = 60
MAX_WAIT_S = 900  # the longest delay SQS allows a message
KEEP_WINDOWS = 3  # minutes a window's counter row outlives its minute (TTL)


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


def window_key(provider: str, window: int) -> str:
    return f"{keys.rate_key('pw', provider)}#{window}"


def take(provider: str, images: int, now: datetime) -> Slot:
    """Take `images` calls from the provider's current window: taken, full (wait), or free
    (a provider without a platform quota: nothing to take)."""
    quota = PROVIDER_QUOTAS.get(provider)
    if quota is None or quota.images_per_minute is None:
        return Slot(None, 0)
    window, elapsed = window_of(now)
    key = window_key(provider, window)
    try:
        CounterModel(key).update(
            actions=[CounterModel.n.add(images), CounterModel.expires_at.set((window + KEEP_WINDOWS) * WINDOW_S)],
            condition=CounterModel.n.does_not_exist() | (CounterModel.n <= quota.images_per_minute - images),
        )
    except UpdateError:
        return Slot(None, wait_for_next_window(elapsed, random.randint(1, 5)))
    return Slot(key, 0)


def give_back(key: str, images: int) -> None:
    """Undo `take` for a job that made no provider call after all; never raises (the window
    only over-counts until it expires)."""
    try:
        CounterModel(key).update(actions=[CounterModel.n.add(-images)], condition=CounterModel.n >= images)
    except UpdateError:
        logger.warning("could not give back a provider slot", extra={"error_code": "provider_slot_refund"})
