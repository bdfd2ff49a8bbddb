"""Sign-in identities: a user pool's `sub` → our user, linked once (first sign-in wins)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.store.models import IdentityModel


def identity_key(pool_id: str, sub: str) -> str:
    return f"cognito#{pool_id}#{sub}"


def get(pool_id: str, sub: str) -> IdentityModel | None:
    try:
        return IdentityModel.get(identity_key(pool_id, sub))
    except IdentityModel.DoesNotExist:
        return None


def link(pool_id: str, sub: str, user_id: str, email: str, now: datetime) -> IdentityModel:
    """Link `sub` to `user_id` unless it is linked already: the link that exists is returned
    (two first sign-ins at once both end with the same one)."""
    row = IdentityModel(identity_key(pool_id, sub), user_id=user_id, email=email, linked_at=now)
    try:
        row.save(IdentityModel.identity.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return IdentityModel.get(row.identity, consistent_read=True)
    return row
