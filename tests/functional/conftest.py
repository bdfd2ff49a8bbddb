"""Fixtures for the functional tests that need the fake Stripe API or the fake provider APIs."""

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


@pytest.fixture()
def provider_fakes(monkeypatch) -> Any:
    """Local fakes of the OpenAI and Gemini wire formats; the SDKs pointed at them."""
    from chalicelib.generation.providers import reset_providers
    from chalicelib.local.fake_providers import FakeProviderServer
    from chalicelib.secrets import reset

    server = FakeProviderServer()
    base = server.start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    monkeypatch.setenv("GEMINI_BASE_URL", base)
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-fake")
    monkeypatch.setenv("GEMINI_STATIC_TOKEN", "fake-token")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "fake-project")
    reset()
    reset_providers()
    yield server
    server.stop()
    reset_providers()
