"""Build teams through the API: invite by email, read the token from the local outbox, accept."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.functional.helpers import call

_people = itertools.count()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


class Person:
    """A member as the tests use one: their id, email and key in one workspace."""

    def __init__(self, user_id: str, email: str, secret: str, workspace_id: str) -> None:
        self.user_id, self.email, self.secret, self.workspace_id = user_id, email, secret, workspace_id

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.secret)


def token_for(api: Any, admin: Any, email: str) -> str:
    """The newest invitation token mailed to `email` (the outbox, as a platform admin reads it)."""
    status, mails, _ = call(api, "GET", f"/admin/api/outbox?to={email}", admin)
    assert status == 200 and mails["data"], mails
    found = re.search(r"token=(\S+)", mails["data"][0]["text"])
    assert found is not None
    return found.group(1)


def invite(api: Any, inviter: Any, admin: Any, role: str, email: str | None = None) -> tuple[str, str]:
    email = email or f"person{next(_people)}-{id(api) % 997}@team.test"
    status, body, _ = call(api, "POST", "/v1/invitations", inviter, {"email": email, "role": role})
    assert status == 201, body
    return body["invitation"]["id"], token_for(api, admin, email)


def join(api: Any, inviter: Any, admin: Any, role: str) -> Person:
    """A new person invited as `role` who accepted without an account."""
    _, token = invite(api, inviter, admin, role)
    status, body, _ = call(api, "POST", "/v1/invitations/accept", None, {"token": token})
    assert status == 200, body
    return Person(body["user"]["id"], body["user"]["email"], body["api_key"], body["workspace"]["id"])
