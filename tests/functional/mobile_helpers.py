"""Helpers for the mobile tests: push tokens of each platform, a fake Expo on loopback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib.local.fake_expo import FakeExpo


def expo_token(tag: str = "") -> str:
    return f"ExponentPushToken[{tag}{secrets.token_hex(8)}]"


def apns_token() -> str:
    return secrets.token_hex(32)


def fcm_token() -> str:
    return f"fcm{secrets.token_hex(4)}:APA91b{secrets.token_urlsafe(60)}".replace("-", "_")


@contextmanager
def fake_expo(monkeypatch: pytest.MonkeyPatch, receipt_delay_s: int = 0) -> Iterator[FakeExpo]:
    """A fake Expo push API on loopback, with the app pointed at it."""
    from chalicelib import bootstrap

    fake = FakeExpo()
    monkeypatch.setenv("EXPO_PUSH_URL", fake.start())
    monkeypatch.setenv("PUSH_RECEIPT_DELAY_S", str(receipt_delay_s))
    bootstrap.reset()
    try:
        yield fake
    finally:
        fake.stop()


def register(api: Any, tenant: Any, platform: str, token: str) -> dict[str, Any]:
    from tests.functional.helpers import call

    status, body, _ = call(api, "POST", "/v1/devices", tenant, {"platform": platform, "token": token})
    assert status == 201, body
    return dict(body)
