"""People who sign in: a Cognito user pool's ID token, verified with PyJWT against the pool's JWKS.

What a token must be to be believed (anything else is `UnknownKey`, 401):
- a JWS signed with RS256 by a key of the pool's JWKS (`alg: none`, HS256 and every other
  algorithm are refused before any key is looked at: no algorithm confusion);
- `iss` the configured pool (`Settings.cognito_issuer`), so a token of another pool is refused even
  when it is signed by a key we know;
- an **ID token** (`token_use: "id"`) whose `aud` is the configured app client: ID tokens carry the
  person's `email` and `email_verified`, which linking a first sign-in needs (tenancy/signin.py);
  access tokens (`client_id`, no email) are refused;
- not expired (`exp`, 30 s of leeway for clock skew), with `iat`, `sub` present.

The JWKS is fetched on first use and kept per container; a token naming a key id we do not have
refetches it at most once a minute (Cognito rotates keys rarely). A JWKS that cannot be fetched
is `Unavailable` (503): the caller may retry, and nothing is believed meanwhile.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from chalicelib.bootstrap import on_reset
from chalicelib.domain import Unavailable
from chalicelib.settings import get_settings
from chalicelib.tenancy.errors import UnknownKey

ALGORITHM = "RS256"
LEEWAY_S = 30
REFETCH_EVERY_S = 60.0
JWKS_TIMEOUT_S = 3.0
MAX_JWKS_BYTES = 64 * 1024
REFUSED = "this sign-in token is not valid"


@dataclass(frozen=True)
class SignedIn:
    """Who a verified ID token says the person is."""

    sub: str
    email: str | None
    email_verified: bool


def verify(token: str) -> SignedIn:
    """The person of a valid ID token of the configured pool and client; UnknownKey otherwise."""
    settings = get_settings()
    if not (settings.cognito_user_pool_id and settings.cognito_client_id and settings.cognito_jwks_url):
        raise UnknownKey("sign-in tokens are not accepted here: use an API key")
    key = _signing_key(token, settings.cognito_jwks_url)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.cognito_client_id,
            issuer=settings.cognito_issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
        )
    except jwt.ExpiredSignatureError:
        raise UnknownKey("this sign-in token has expired: sign in again") from None
    except jwt.PyJWTError as error:
        raise UnknownKey(f"{REFUSED}: {error}") from None
    return _signed_in(claims)


def _signed_in(claims: dict[str, Any]) -> SignedIn:
    if claims.get("token_use") != "id":
        raise UnknownKey(f"{REFUSED}: send the ID token (token_use id), not an access token")
    sub, email = claims.get("sub"), claims.get("email")
    if not isinstance(sub, str) or not sub:
        raise UnknownKey(f"{REFUSED}: no subject")
    verified = claims.get("email_verified") in (True, "true")
    return SignedIn(sub, email.lower() if isinstance(email, str) else None, verified)


def _signing_key(token: str, url: str) -> Any:
    """The pool's public key the token names, after refusing every algorithm but RS256."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise UnknownKey(f"{REFUSED}: malformed") from None
    if header.get("alg") != ALGORITHM:
        raise UnknownKey(f"{REFUSED}: only {ALGORITHM} is accepted")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise UnknownKey(f"{REFUSED}: no key id")
    key = _keys.get(url, kid)
    if key is None:
        raise UnknownKey(f"{REFUSED}: signed by a key this pool does not have")
    return key


class JwksCache:
    """The pool's public keys by key id, fetched lazily, refetched for an unknown key id at most
    once a minute (so a flood of made-up key ids costs one fetch a minute, not one each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url: str | None = None
        self._keys: dict[str, Any] = {}
        self._fetched_at = -1e9

    def get(self, url: str, kid: str) -> Any:
        with self._lock:
            if url != self._url:
                self._url, self._keys, self._fetched_at = url, {}, -1e9
            if kid not in self._keys and time.monotonic() - self._fetched_at >= REFETCH_EVERY_S:
                self._keys = fetch_jwks(url)
                self._fetched_at = time.monotonic()
            return self._keys.get(kid)

    def clear(self) -> None:
        with self._lock:
            self._url, self._keys, self._fetched_at = None, {}, -1e9


def fetch_jwks(url: str) -> dict[str, Any]:
    """The RS256 signing keys of a JWKS document, by key id (Unavailable when it cannot be read)."""
    try:
        with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_S) as answer:  # the URL is our setting
            document = json.loads(answer.read(MAX_JWKS_BYTES))  # a longer one is cut: refused below
        found = jwt.PyJWKSet.from_dict(document)
    except (OSError, ValueError, jwt.PyJWTError) as error:
        raise Unavailable(f"the sign-in keys could not be read ({type(error).__name__}); try again", retry_after=5) from None
    return {k.key_id: k.key for k in found.keys if k.key_id and k.key_type == "RSA" and k.public_key_use in (None, "sig")}


_keys = JwksCache()


@on_reset
def reset() -> None:
    """Forget the fetched keys (tests and the local stack change pools)."""
    _keys.clear()
