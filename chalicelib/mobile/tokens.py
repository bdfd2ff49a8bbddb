"""Push tokens: the shape each platform's token has, checked before anything is stored (pure).

- `expo`: `ExponentPushToken[...]` (or the newer `ExpoPushToken[...]`), what Expo's
  `getExpoPushTokenAsync` returns; the inside is 1-200 letters, digits, `-` or `_`.
- `ios`: an APNs device token, hexadecimal, an even number of 64-200 digits (APNs' tokens are
  32 bytes today; Apple allows longer ones). Kept lower-case.
- `android`: an FCM registration token, 32-4096 characters of letters, digits and `-_:.`.

A token is never shown in full once stored: `hint` keeps its last characters.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from chalicelib.mobile.errors import InvalidToken

PLATFORMS: Final = ("ios", "android", "expo")
MAX_TOKEN_CHARS: Final = 4096

_EXPO = re.compile(r"^(ExponentPushToken|ExpoPushToken)\[[A-Za-z0-9_-]{1,200}\]$")
_APNS = re.compile(r"^(?:[0-9a-f]{2}){32,100}$")
_FCM = re.compile(r"^[A-Za-z0-9_:.\-]{32,4096}$")
_SHAPES: Final = {
    "expo": (_EXPO, "an Expo push token looks like ExponentPushToken[...]"),
    "ios": (_APNS, "an APNs device token is 64-200 hexadecimal digits"),
    "android": (_FCM, "an FCM registration token is 32-4096 letters, digits or -_:."),
}


def normalise(platform: str, token: str) -> str:
    """The token as stored, or InvalidToken (field `token`) naming the shape expected."""
    if platform not in _SHAPES:
        raise ValueError(f"unknown platform {platform!r}")  # the request schema allows only PLATFORMS
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken(f"a push token has at most {MAX_TOKEN_CHARS} characters")
    value = token.strip().lower() if platform == "ios" else token.strip()
    shape, expected = _SHAPES[platform]
    if not shape.fullmatch(value):
        raise InvalidToken(f"not a valid {platform} push token: {expected}")
    return value


def token_hash(platform: str, token: str) -> str:
    """The key of a token's claim row: the same token of the same platform, whoever sends it."""
    return hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()


def hint(token: str) -> str:
    """What lists show of a token: its last 6 characters (enough to tell devices apart)."""
    return "…" + token.rstrip("]")[-6:]
