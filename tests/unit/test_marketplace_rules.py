"""The marketplace's pure rules: the fee split, the holding period, payout eligibility and the
credits→money conversion (chalicelib/marketplace/rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.marketplace import rules

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=rules.BPS))
def test_the_split_always_adds_up_and_never_overcharges_the_creator(price, bps):
    cut = rules.split(price, bps)
    assert cut.fee + cut.net == price
    assert 0 <= cut.fee <= price * bps / rules.BPS  # rounded down: the creator gets the odd credit
    assert cut.net >= price - price * bps / rules.BPS


@pytest.mark.parametrize(
    ("price", "fee", "net"),
    [(100, 20, 80), (1, 0, 1), (4, 0, 4), (5, 1, 4), (999, 199, 800), (100_000, 20_000, 80_000)],
)
def test_the_default_fee_is_twenty_percent_rounded_down(price, fee, net):
    assert rules.PLATFORM_FEE_BPS == 2_000
    assert rules.split(price) == rules.Split(price, fee, net)


def test_a_split_refuses_nonsense():
    with pytest.raises(ValueError):
        rules.split(-1)
    with pytest.raises(ValueError):
        rules.split(10, rules.BPS + 1)


@pytest.mark.parametrize(
    ("price", "ok"),
    [(1, True), (100_000, True), (0, False), (100_001, False), (-5, False), (True, False), (1.5, False)],
)
def test_prices_are_bounded_integers(price, ok):
    assert rules.valid_price(price) is ok


def test_earnings_mature_exactly_at_the_end_of_the_holding_period():
    assert rules.HOLD_PERIOD == timedelta(days=rules.HOLD_DAYS) == timedelta(days=14)
    assert rules.matures_at(T0) == T0 + timedelta(days=14)
    assert not rules.is_mature(T0, T0)
    assert not rules.is_mature(T0, T0 + timedelta(days=14) - timedelta(microseconds=1))
    assert rules.is_mature(T0, T0 + timedelta(days=14))
    assert rules.is_mature(T0, T0 + timedelta(days=400))


def test_credits_convert_to_cents_in_one_place():
    assert rules.payout_cents(1_000) == 1_000 * rules.PAYOUT_CENTS_PER_CREDIT
    assert isinstance(rules.payout_cents(12_345), int)
    with pytest.raises(ValueError):
        rules.payout_cents(-1)


ELIGIBLE = {"has_account": True, "payouts_enabled": True}


@pytest.mark.parametrize(
    ("amount", "available", "flags", "reason"),
    [
        (1_000, 1_000, ELIGIBLE, None),
        (5_000, 9_000, ELIGIBLE, None),
        (999, 5_000, ELIGIBLE, "amount"),
        (rules.MAX_PAYOUT_CREDITS + 1, 10**9, ELIGIBLE, "amount"),
        (1_000, 5_000, {"has_account": False, "payouts_enabled": False}, "no_account"),
        (1_000, 5_000, {"has_account": True, "payouts_enabled": False}, "payouts_disabled"),
        (2_000, 1_999, ELIGIBLE, "insufficient_earnings"),
        (999, 0, {"has_account": False, "payouts_enabled": False}, "amount"),  # the amount is checked first
    ],
)
def test_payout_eligibility(amount, available, flags, reason):
    check = rules.payout_eligibility(amount, available, **flags)
    assert check.reason == reason
    assert check.ok is (reason is None)
    if reason:
        assert check.message


def test_the_average_rating():
    assert rules.average_stars(0, 0) is None
    assert rules.average_stars(9, 2) == 4.5
    assert rules.average_stars(13, 3) == 4.3
