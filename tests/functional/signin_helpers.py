"""People who sign in, as the tests make them: a user in moto's Cognito pool (the local stack's,
COGNITO_USER_POOL_ID) and the ID token moto issues; and hand-made tokens for the ways a token
can be wrong (signed with moto's private key, another key, or none)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
from moto.utilities.utils import load_resource

from chalicelib.aws import client
from chalicelib.settings import get_settings

PASSWORD = "Correct-Horse-9-Battery"


def sign_in(email: str, *, verified: bool = True, client_id: str | None = None, pool_id: str | None = None) -> str:
    """The ID token of `email` (made in the pool if new), as the app would get it by signing in."""
    settings = get_settings()
    pool = pool_id or str(settings.cognito_user_pool_id)
    cognito = client("cognito-idp")
    try:
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": str(verified).lower()}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
    except cognito.exceptions.UsernameExistsException:
        pass
    answer = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client_id or str(settings.cognito_client_id),
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def access_token(email: str) -> str:
    """The access token of the same sign-in (which we refuse: it names no email)."""
    settings = get_settings()
    answer = client("cognito-idp").admin_initiate_auth(
        UserPoolId=str(settings.cognito_user_pool_id),
        ClientId=str(settings.cognito_client_id),
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    return str(answer["AuthenticationResult"]["AccessToken"])


def other_client() -> str:
    """A second app client of the same pool (its tokens have another audience)."""
    settings = get_settings()
    made = client("cognito-idp").create_user_pool_client(
        UserPoolId=str(settings.cognito_user_pool_id),
        ClientName="other-app",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
    )
    return str(made["UserPoolClient"]["ClientId"])


def other_pool() -> tuple[str, str]:
    """Another pool and its client on the same moto: signed by the same key, another `iss`."""
    cognito = client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="foreign-pool", UsernameAttributes=["email"])["UserPool"]["Id"]
    made = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="foreign", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"], ReadAttributes=["email"]
    )
    return pool, str(made["UserPoolClient"]["ClientId"])


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def moto_key() -> Any:
    """moto's signing key (the private half of the JWKS the pool serves)."""
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"), algorithm="RS256").key


def mint(claims: dict[str, Any], key: Any = None, *, algorithm: str = "RS256", kid: str = "dummy") -> str:
    """A token with these claims, signed by `key` (moto's by default)."""
    return jwt.encode(claims, key if key is not None else moto_key(), algorithm=algorithm, headers={"kid": kid})


def unsigned(claims: dict[str, Any]) -> str:
    """`alg: none`: a token with no signature at all."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{part(claims)}."


def valid_claims(email: str, sub: str, **changes: Any) -> dict[str, Any]:
    """What moto would put in an ID token of the configured pool and client, changed as asked."""
    settings = get_settings()
    now = int(time.time())
    claims = {
        "iss": settings.cognito_issuer,
        "sub": sub,
        "aud": settings.cognito_client_id,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "email": email,
        "email_verified": "true",
    }
    claims.update(changes)
    return claims


def signed_in(token: str, workspace_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if workspace_id is not None:
        headers["X-Workspace-Id"] = workspace_id
    return headers
