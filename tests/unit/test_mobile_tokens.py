"""Push tokens per platform: what each accepts, what it refuses, what a list shows of it."""

from __future__ import annotations

import pytest

from chalicelib.mobile import tokens
from chalicelib.mobile.errors import InvalidToken

GOOD = [
    ("expo", "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]"),
    ("expo", "ExpoPushToken[AbC-123_z]"),
    ("ios", "a" * 64),
    ("ios", "0123456789abcdef" * 8),
    ("android", "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"),
]
BAD = [
    ("expo", ""),
    ("expo", "ExponentPushToken[]"),
    ("expo", "ExponentPushToken[abc"),
    ("expo", "ExponentPushToken[a b]"),
    ("expo", "exponentpushtoken[abc]"),
    ("expo", "ExponentPushToken[" + "a" * 201 + "]"),
    ("expo", "x" * 5000),
    ("ios", "a" * 63),
    ("ios", "g" * 64),
    ("ios", "a" * 202),
    ("android", "short:token"),
    ("android", "has spaces in it and is long enough to pass the length"),
    ("android", "a" * 4097),
]


@pytest.mark.parametrize(("platform", "token"), GOOD)
def test_tokens_of_the_right_shape_are_kept(platform: str, token: str) -> None:
    assert tokens.normalise(platform, token) == (token.lower() if platform == "ios" else token)


@pytest.mark.parametrize(("platform", "token"), BAD)
def test_tokens_of_another_shape_are_refused(platform: str, token: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        tokens.normalise(platform, token)
    assert refused.value.details.get("field") == "token"


def test_apns_tokens_are_kept_lower_case_and_trimmed() -> None:
    assert tokens.normalise("ios", " " + "AB" * 32 + " ") == "ab" * 32


def test_the_same_token_on_two_platforms_is_two_claims() -> None:
    assert tokens.token_hash("ios", "ab" * 32) != tokens.token_hash("android", "ab" * 32)
    assert tokens.token_hash("expo", "x") == tokens.token_hash("expo", "x")


def test_a_hint_never_holds_the_token() -> None:
    token = "ExponentPushToken[abcdefghijklmnop]"
    assert tokens.hint(token) == "…klmnop" and "abcdefghij" not in tokens.hint(token)


def test_an_unknown_platform_is_a_bug_not_input() -> None:
    with pytest.raises(ValueError, match="unknown platform"):
        tokens.normalise("windows", "x")
