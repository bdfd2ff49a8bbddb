"""Fixtures for the functional tests that need the fake Stripe API."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.billing import gateway
from chalicelib.local.fake_stripe import FakeStripe
from tests.functional.billing_helpers import SECRET


@pytest.fixture()
def fake(aws, monkeypatch) -> Any:
    stripe_fake = FakeStripe()
    base = stripe_fake.start()
    monkeypatch.setenv("STRIPE_API_BASE", base)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_fake")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    gateway.reset()
    yield stripe_fake
    stripe_fake.stop()
    gateway.reset()


