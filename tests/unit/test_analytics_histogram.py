"""The timing histograms: fixed buckets, percentiles within the bucket that holds them."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.analytics import histogram
from chalicelib.store.models import ANALYTICS_BUCKETS_MS


def counts_of(values: list[int]) -> list[int]:
    counts = [0] * histogram.BUCKETS
    for ms in values:
        counts[histogram.bucket_of(ms)] += 1
    return counts


def bounds(bucket: int) -> tuple[int, float]:
    low = 0 if bucket == 0 else ANALYTICS_BUCKETS_MS[bucket - 1]
    return low, float("inf") if bucket >= len(ANALYTICS_BUCKETS_MS) else ANALYTICS_BUCKETS_MS[bucket]


def test_nothing_counted_has_no_percentile() -> None:
    assert histogram.percentile([0] * histogram.BUCKETS, 0.5) is None


def test_attributes_name_the_timing_and_bucket() -> None:
    assert histogram.attribute("duration", 3) == "d03"
    assert histogram.attribute("queue_wait", 15) == "w15"
    assert histogram.attribute("provider", 0) == "p00"


def test_interpolates_inside_a_bucket_and_the_open_bucket_answers_its_floor() -> None:
    assert histogram.percentile(counts_of([1500] * 4), 0.5) == 1500  # (1000, 2000]: half way
    assert histogram.percentile(counts_of([10**7]), 0.95) == ANALYTICS_BUCKETS_MS[-1]


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=200), st.sampled_from([0.5, 0.95, 0.99]))
def test_the_estimate_lies_in_the_bucket_of_the_true_percentile(values: list[int], q: float) -> None:
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))  # the nearest-rank percentile
    true = ordered[min(rank, len(ordered)) - 1]
    estimate = histogram.percentile(counts_of(values), q)
    assert estimate is not None
    low, high = bounds(histogram.bucket_of(true))
    assert low <= estimate <= high, (true, estimate)
