"""tenancy/cognito.py on its own: which tokens are believed, with a JWKS served by a stub fetch
(no moto, no network). The functional tests run the same checks on moto's real tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import bootstrap
from chalicelib.domain import Unavailable
from chalicelib.settings import reset_settings
from chalicelib.tenancy import cognito
from chalicelib.tenancy.errors import UnknownKey

POOL = "eu-west-1_Pool123"
CLIENT = "client-abc"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
REAL_FETCH = cognito.fetch_jwks


@pytest.fixture(autouse=True)
def pool(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL)
    monkeypatch.setenv("COGNITO_CLIENT_ID", CLIENT)
    monkeypatch.delenv("COGNITO_JWKS_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_settings()
    cognito.reset()
    fetched: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return {"k1": KEY.public_key()}

    monkeypatch.setattr(cognito, "fetch_jwks", fetch)
    yield fetched
    bootstrap.reset()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    out = {"iss": ISSUER, "sub": "sub-1", "aud": CLIENT, "token_use": "id", "iat": now, "exp": now + 600}
    out.update({"email": "Ann@Example.test", "email_verified": True})
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def token(body: dict[str, Any], key: Any = KEY, kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def test_a_valid_id_token(pool: list[str]) -> None:
    person = cognito.verify(token(claims()))
    assert person == cognito.SignedIn("sub-1", "ann@example.test", True)
    assert pool == [f"{ISSUER}/.well-known/jwks.json"]  # the pool's own URL in AWS
    cognito.verify(token(claims()))
    assert len(pool) == 1  # cached


@pytest.mark.parametrize(
    "bad",
    [
        {"aud": "another-client"},
        {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"},
        {"exp": int(time.time()) - 120},
        {"token_use": "access"},
        {"exp": None},
        {"sub": None},
        {"aud": None, "client_id": CLIENT},
    ],
)
def test_refused_claims(bad: dict[str, Any]) -> None:
    with pytest.raises(UnknownKey):
        cognito.verify(token(claims(**bad)))


def test_leeway_is_thirty_seconds() -> None:
    assert cognito.verify(token(claims(exp=int(time.time()) - 10))).sub == "sub-1"


def test_unverified_email_is_reported_not_trusted() -> None:
    assert cognito.verify(token(claims(email_verified="false"))).email_verified is False


def test_only_rs256_by_a_key_of_the_pool(pool: list[str]) -> None:
    good = token(claims())
    head, body, _ = good.split(".")
    for bad in (
        token(claims(), OTHER),  # right kid, wrong key
        f"{head}.{body}.",  # signature removed
        jwt.encode(claims(), "a-shared-secret-long-enough-for-hs256", algorithm="HS256", headers={"kid": "k1"}),
        token(claims(), OTHER, alg="RS512"),
        "not.a.jwt",
    ):
        with pytest.raises(UnknownKey):
            cognito.verify(bad)


def test_unknown_key_ids_refetch_at_most_once_a_minute(pool: list[str]) -> None:
    for n in range(5):
        with pytest.raises(UnknownKey):
            cognito.verify(token(claims(), kid=f"rotated-{n}"))
    assert len(pool) == 1


def test_a_jwks_that_cannot_be_read_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cognito, "fetch_jwks", REAL_FETCH)
    monkeypatch.setenv("COGNITO_JWKS_URL", "http://127.0.0.1:9/jwks.json")  # discard port: refused at once
    reset_settings()
    cognito.reset()
    with pytest.raises(Unavailable):
        cognito.verify(token(claims()))


def test_no_pool_configured_means_api_keys_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COGNITO_USER_POOL_ID")
    reset_settings()
    with pytest.raises(UnknownKey, match="API key"):
        cognito.verify(token(claims()))
