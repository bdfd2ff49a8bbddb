"""Timing histograms with fixed buckets: what settlement adds to, and percentiles read from them.

A job's duration, queue wait and provider time each add 1 to one bucket (`ANALYTICS_BUCKETS_MS`
in store/models.py: upper bounds, the last bucket open). Counts of any set of rows add up, so a
percentile over days, members or keys is one pass over the summed counts, and its error is
bounded by the bucket it falls in: the estimate interpolates linearly inside that bucket (the
open last bucket answers its lower bound: "at least 5 minutes").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from chalicelib.store.models import ANALYTICS_BUCKETS_MS

BUCKETS = len(ANALYTICS_BUCKETS_MS) + 1
PREFIX = {"duration": "d", "queue_wait": "w", "provider": "p"}


def bucket_of(ms: int) -> int:
    """The bucket of a timing: the first whose upper bound is >= ms (the last one past them all)."""
    return bisect_left(ANALYTICS_BUCKETS_MS, max(0, ms))


def attribute(timing: str, bucket: int) -> str:
    """The row attribute counting `timing` in `bucket` (d00..d15, w00..w15, p00..p15)."""
    return f"{PREFIX[timing]}{bucket:02d}"


def percentile(counts: Sequence[int], q: float) -> int | None:
    """The q-quantile (0 < q <= 1) of the timings counted, in ms; None when nothing was counted."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total  # the rank we want, 1-based and fractional
    seen = 0
    for bucket, n in enumerate(counts):
        if n and seen + n >= rank:
            low = 0 if bucket == 0 else ANALYTICS_BUCKETS_MS[bucket - 1]
            if bucket >= len(ANALYTICS_BUCKETS_MS):
                return low
            high = ANALYTICS_BUCKETS_MS[bucket]
            return int(round(low + (high - low) * (rank - seen) / n))
        seen += n
    return None  # unreachable: the ranks add up to total
