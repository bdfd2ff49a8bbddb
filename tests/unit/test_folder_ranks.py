"""Folder ranks (library/ranks.py): always strictly between, short, and default ranks newest first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import ids
from chalicelib.library import ranks


def test_between_is_strictly_between_and_valid() -> None:
    rng = random.Random(5)
    keys = [ranks.between(None, None)]
    for _ in range(2000):
        i = rng.randrange(len(keys) + 1)
        low = keys[i - 1] if i > 0 else None
        high = keys[i] if i < len(keys) else None
        new = ranks.between(low, high)
        assert ranks.valid(new)
        assert (low is None or low < new) and (high is None or new < high), (low, new, high)
        keys.insert(i, new)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert max(len(k) for k in keys) <= 12


def test_the_same_gap_used_over_and_over_grows_slowly() -> None:
    low, high = "a", "b"
    for _ in range(600):
        high = ranks.between(low, high)  # always just after `low`
    assert len(high) <= 120 and low < high


def test_spread_gives_n_ascending_short_ranks() -> None:
    for low, high, n in ((None, None, 500), ("V", "W", 500), ("zAB", None, 3), (None, "1", 7)):
        got = ranks.spread(low, high, n)
        assert len(got) == n and got == sorted(got) and len(set(got)) == n
        assert (low is None or low < got[0]) and (high is None or got[-1] < high)
        assert max(len(k) for k in got) <= len(low or "") + len(high or "") + 4
    assert ranks.spread("a", "b", 0) == []


@pytest.mark.parametrize(("low", "high"), [("b", "a"), ("a", "a"), ("a0", None), (None, ""), ("a!", None)])
def test_no_rank_between_bad_or_crossed_neighbours(low: str | None, high: str | None) -> None:
    with pytest.raises(ranks.RankError):
        ranks.between(low, high)


def test_default_ranks_are_newest_first_and_after_the_placed_ones() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [ids.new_id("img", start + timedelta(milliseconds=i)) for i in range(50)]
    made += [f"img_{ids.new_id('job', start - timedelta(seconds=1))[4:24]}{i:06d}" for i in range(3)]  # a job's images
    defaults = {ranks.default_rank(i): i for i in made}
    assert all(ranks.valid(r) for r in defaults)
    ordered = [defaults[r] for r in sorted(defaults)]
    assert ordered[:50] == sorted(made[:50], reverse=True) and sorted(ordered[50:]) == sorted(made[50:])
    top = ranks.between(None, min(defaults))
    assert top < min(defaults)
