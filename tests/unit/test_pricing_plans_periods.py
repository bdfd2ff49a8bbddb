"""Plans, prices and periods: the declarative places and their arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.accounting import periods, plans, prices
from chalicelib.accounting.errors import UnknownPrice

UTC = UTC


def test_periods_and_days() -> None:
    at = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert periods.period_of(at) == "2026-12" and periods.day_of(at) == "2026-12-31"
    assert periods.next_period("2026-12") == "2027-01" and periods.previous_period("2027-01") == "2026-12"
    start, end = periods.period_bounds("2026-02")
    assert start == datetime(2026, 2, 1, tzinfo=UTC) and end == datetime(2026, 3, 1, tzinfo=UTC)
    assert len(periods.days_between(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, 12, tzinfo=UTC))) == 30


def test_credits_scale_with_size_kind_and_count() -> None:
    local = prices.model_price("local", None)
    assert prices.job_credits(local, "1024x1024", "generate", 4) == 4
    assert prices.job_credits(local, "2048x2048", "upscale", 1) == 8
    openai = prices.model_price("openai", "gpt-image-1")
    assert prices.job_credits(openai, "1024x1024", "generate", 2) == 10


def test_token_cost_is_integer_micro_usd_rounded_up() -> None:
    openai = prices.model_price("openai", "gpt-image-1")
    cost = prices.provider_cost_micro_usd(openai, 1, input_tokens=1, output_tokens=1)
    assert isinstance(cost, int) and cost == 45  # 5 + 40 micro-USD per token
    tokens_in, tokens_out = prices.worst_case_tokens(openai, "x" * 100, 2)
    assert tokens_in > 0 and tokens_out == 2 * openai.max_output_tokens_per_image
    assert prices.worst_case_tokens(prices.model_price("local", None), "x", 4) == (0, 0)


def test_unknown_model_has_no_price() -> None:
    with pytest.raises(UnknownPrice):
        prices.model_price("openai", "dall-e-9")


def test_effective_limits_apply_overrides_and_ignore_unknown() -> None:
    base = plans.get_plan("pro").limits
    limits = plans.effective_limits("pro", {"requests_per_minute_user": 5, "bogus": 1, "providers": ["local"]})
    assert limits.requests_per_minute_user == 5 and limits.providers == ("local",)
    assert limits.tokens_per_day == base.tokens_per_day
    assert plans.get_plan("nonexistent").name == "free"


def test_the_queued_cap_is_never_below_the_running_cap() -> None:
    raised = plans.effective_limits("pro", {"max_concurrent_jobs": 7, "max_queued_jobs": 2})
    assert (raised.max_concurrent_jobs, raised.max_queued_jobs) == (7, 7)
    kept = plans.effective_limits("pro", {"max_concurrent_jobs": 7, "max_queued_jobs": 9})
    assert (kept.max_concurrent_jobs, kept.max_queued_jobs) == (7, 9)


def test_every_plan_allows_its_providers_to_be_priced() -> None:
    for plan in plans.PLANS.values():
        for provider in plan.limits.providers:
            assert prices.model_price(provider, None).credits_per_image > 0


def test_days_between_counts_utc_days_whatever_the_time_of_day_and_zone() -> None:
    """Found by mutation testing: only the count of a whole month was checked."""
    from datetime import timedelta, timezone

    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    assert periods.days_between(late, datetime(2026, 11, 2, 0, 10, tzinfo=UTC)) == ["2026-11-01", "2026-11-02"]
    assert periods.days_between(late, late) == ["2026-11-01"]
    assert periods.days_between(late, datetime(2026, 11, 1, 23, 0, tzinfo=UTC)) == ["2026-11-01"]  # same day, earlier
    assert periods.days_between(datetime(2026, 11, 2, tzinfo=UTC), late) == []  # end before start
    plus_two = timezone(timedelta(hours=2))
    # 01:00 at UTC+2 on the 2nd is 23:00 UTC on the 1st: quota days are UTC days.
    assert periods.days_between(datetime(2026, 11, 2, 1, 0, tzinfo=plus_two), datetime(2026, 11, 2, 12, tzinfo=UTC)) == [
        "2026-11-01",
        "2026-11-02",
    ]
    assert periods.days_between(datetime(2026, 12, 31, 12, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == [
        "2026-12-31",
        "2027-01-01",
    ]


def test_size_class_of_every_image_size_including_past_the_largest() -> None:
    """Found by mutation testing: images above the largest class were never priced in a test."""
    assert prices.size_class(1024, 1024) == "1024x1024"
    assert prices.size_class(1025, 1024) == "1536x1024"
    assert prices.size_class(4096, 4096) == "4096x4096"
    assert prices.size_class(8192, 8192) == "4096x4096"  # priced as the largest, never unpriced
    assert prices.size_class(1, 1) == "1024x1024"


def test_effective_plan_falls_back_to_free_only_after_the_grace_period() -> None:
    """Found by mutation testing: the grace boundary and the fallback plan were not pinned."""
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    since = now.timestamp() - plans.PAST_DUE_GRACE_S
    assert plans.effective_plan("pro", None, now) == "pro"
    assert plans.effective_plan("pro", since, now) == "pro"  # exactly the grace: still pro
    assert plans.effective_plan("pro", since - 1, now) == "free"
    assert plans.effective_plan("pro", now.timestamp() + 3600, now) == "pro"  # a clock ahead: never punished
    assert plans.effective_plan("pro", int(since) - 10, now) == "free"


def test_token_costs_round_up_to_the_micro_dollar() -> None:
    """Per-million rates: 2,000,001 token-micro-dollars are 3 micro-dollars (rounded up), and a
    per-image part is added as it is."""
    one_per_mtok = prices.ModelPrice("p", "m", credits_per_image=1, input_micro_usd_per_mtok=1, output_micro_usd_per_mtok=2)
    assert prices.provider_cost_micro_usd(one_per_mtok, 0, input_tokens=2_000_000, output_tokens=0) == 2
    assert prices.provider_cost_micro_usd(one_per_mtok, 0, input_tokens=2_000_001, output_tokens=0) == 3
    assert prices.provider_cost_micro_usd(one_per_mtok, 0, input_tokens=0, output_tokens=1_000_000) == 2
    per_image = prices.ModelPrice("p", "m", credits_per_image=1, cost_per_image_micro_usd=39_000)
    assert prices.provider_cost_micro_usd(per_image, 2, input_tokens=0, output_tokens=0) == 78_000


def test_final_counts_forget_everything_when_full() -> None:
    from chalicelib.accounting.ratelimit import FinalCounts

    counts = FinalCounts(max_entries=2)
    counts.put("a", 1)
    counts.put("b", 2)
    assert counts.get("a") == 1 and counts.get("b") == 2
    counts.put("c", 3)  # full: cleared, then kept
    assert (counts.get("a"), counts.get("b"), counts.get("c")) == (None, None, 3)
    assert counts.observe("c", 2) == 3 and counts.increment("c") == 4
    default = FinalCounts()
    for n in range(50_000):
        default.put(str(n), n)
    assert default.get("0") == 0  # 50,000 fit
    default.put("one more", 1)
    assert default.get("0") is None


def test_days_between_ignores_seconds_and_microseconds_of_the_start() -> None:
    start = datetime(2026, 12, 31, 12, 0, 30, 500, tzinfo=UTC)
    assert periods.days_between(start, datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC)) == ["2026-12-31", "2027-01-01"]
    assert periods.days_between(datetime(2026, 12, 31, 12, 0, 0, 500, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) == [
        "2026-12-31",
        "2027-01-01",
    ]
