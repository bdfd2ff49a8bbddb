"""The sliding-window estimate: thresholds, retry-after, burst bound."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.accounting import ratelimit as rl

W = rl.WINDOW_MS


def test_empty_previous_window_admits_exactly_limit() -> None:
    check = rl.plan_window("user", "RL#u#x", 5, 10 * W + 1000, previous=0)
    assert check.threshold == 4  # counts 0..4 admit -> 5 requests


def test_previous_window_weighs_by_remaining_fraction() -> None:
    # Half-way into the window, a full previous window still weighs half.
    assert rl.threshold(10, previous=10, elapsed_ms=W // 2) == 10 - 1 - 5
    # At the very start it weighs fully: nothing more is admitted.
    assert rl.threshold(10, previous=10, elapsed_ms=0) == -1
    # Near the end it weighs almost nothing (ceil keeps it conservative).
    assert rl.threshold(10, previous=10, elapsed_ms=W - 1) == 10 - 1 - 1


def test_window_index_and_reset() -> None:
    check = rl.plan_window("user", "RL#u#x", 5, 7 * W + 59_500, previous=None)
    assert check.window_index == 7 and check.reset_seconds == 1
    assert check.current_key.endswith("#7") and check.previous_key.endswith("#6")


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(1, 100), arrivals=st.lists(st.integers(0, 4 * W - 1), min_size=1, max_size=400))
def test_burst_bound_holds_for_any_arrival_pattern(limit: int, arrivals: list[int]) -> None:
    """Simulate the limiter; in any span of length d <= W at most limit + limit*d/W pass."""
    counts: dict[int, int] = {}
    admitted: list[int] = []
    for t in sorted(arrivals):
        index, elapsed = divmod(t, W)
        threshold = rl.threshold(limit, counts.get(index - 1, 0), elapsed)
        if counts.get(index, 0) <= threshold:
            counts[index] = counts.get(index, 0) + 1
            admitted.append(t)
    for index, n in counts.items():
        assert n <= limit, (index, n)
    for i, start in enumerate(admitted):
        for d in (1, W // 4, W // 2, W):
            inside = sum(1 for t in admitted[i:] if t < start + d)
            assert inside <= limit + limit * d / W + 1e-9, (start, d, inside)


def _allowed_after(limit: int, current: int, previous: int, elapsed_ms: int, wait_s: int) -> bool:
    """Would one more request pass `wait_s` seconds from now, if nothing else arrives?"""
    t = elapsed_ms + wait_s * 1000
    if t < rl.WINDOW_MS:
        return current + rl.weighted_previous(previous, t) + 1 <= limit
    return rl.weighted_previous(current, t - rl.WINDOW_MS) + 1 <= limit


@pytest.mark.parametrize(
    ("limit", "current", "previous", "elapsed_ms", "expected"),
    [
        (5, 5, 0, 30_000, 42),  # full: the window ends in 30 s, then its 5 must weigh 4 or less
        (10, 3, 10, 0, 24),  # room in this window once the previous one weighs 6 or less
        (10, 10, 10, 59_000, 7),
        (60_000, 60_000, 0, 59_999, 1),  # a full window of a large limit, in its last millisecond
    ],
)
def test_retry_after_is_the_first_whole_second_a_request_would_pass(limit, current, previous, elapsed_ms, expected) -> None:
    wait = rl.retry_after_seconds(limit, current=current, previous=previous, elapsed_ms=elapsed_ms)
    assert wait == expected
    assert _allowed_after(limit, current, previous, elapsed_ms, wait)
    assert not _allowed_after(limit, current, previous, elapsed_ms, wait - 1)


def test_retry_after_is_positive_and_sensible() -> None:
    assert rl.retry_after_seconds(5, current=5, previous=0, elapsed_ms=30_000) >= 30
    assert rl.retry_after_seconds(10, current=3, previous=10, elapsed_ms=0) >= 1
    assert rl.retry_after_seconds(10, current=0, previous=0, elapsed_ms=0) == 1
    assert rl.retry_after_seconds(1, current=0, previous=0, elapsed_ms=0) == 1  # room for its one request now


@pytest.mark.parametrize("limit", [1, 2, 599, 600, 8_999, 9_000, 9_001, 100_000, 899_999, 900_000, 10**9])
def test_provider_shards_hold_exactly_the_limit_and_at_most_300_units_a_second(limit: int) -> None:
    shards = rl.shard_count(limit)
    parts = [rl.shard_limit(limit, shards, k) for k in range(shards)]
    assert sum(parts) == limit  # never more admitted than the limit, and all of it available
    assert max(parts) - min(parts) <= 1
    assert 1 <= shards <= rl.MAX_SHARDS
    if shards < rl.MAX_SHARDS:  # a full shard: its admissions x 2 units each, per second
        assert max(parts) * 2 / 60 <= 300
    assert (shards == 1) == (limit <= rl.SHARD_ADMISSIONS_PER_MINUTE)  # small limits keep one key
