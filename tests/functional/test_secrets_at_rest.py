"""A secret is shown once and only its hash is ever stored: not in the key rows, not in the
idempotency records that replay a creation, not anywhere. Proven by scanning every table."""

from __future__ import annotations

import os

from chalicelib import ids
from chalicelib.local.stack import bootstrap_admin
from tests.functional.helpers import call
from tests.functional.tables import scan, strings, table_names


class Caller:
    """A bearer key as the `call` helper wants it."""

    def __init__(self, secret: str) -> None:
        self.auth = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def _create_workspace(api, admin: Caller, name: str, key: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Idempotency-Key": key} if key else None
    return call(
        api,
        "POST",
        "/admin/api/workspaces",
        admin,
        {"name": name, "owner_email": f"{name.lower()}@example.test", "plan": "pro"},
        headers=headers,
    )


def _create_key(api, owner: Caller, name: str, key: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Idempotency-Key": key} if key else None
    return call(api, "POST", "/v1/keys", owner, {"name": name}, headers=headers)


def test_replays_return_the_same_key_without_its_secret(api, fresh_aws):
    admin_secret = f"sk_test_admin_{os.urandom(12).hex()}"
    bootstrap_admin(admin_secret)
    admin = Caller(admin_secret)

    status, first, headers = _create_workspace(api, admin, "Replayed", key="ws-once")
    assert status == 201 and first["api_key"].startswith("sk_test_") and "Idempotent-Replayed" not in headers
    status, again, headers = _create_workspace(api, admin, "Replayed", key="ws-once")
    assert status == 201 and headers["Idempotent-Replayed"] == "true"
    assert again["api_key"] is None and "shown only in the first response" in again["message"]
    assert again["workspace"] == first["workspace"] and again["key"] == first["key"]

    owner = Caller(first["api_key"])
    status, made, headers = _create_key(api, owner, "ci", key="key-once")
    assert status == 201 and made["secret"].startswith("sk_test_")
    status, replay, headers = _create_key(api, owner, "ci", key="key-once")
    assert status == 201 and headers["Idempotent-Replayed"] == "true"
    assert replay["secret"] is None and replay["key"] == made["key"] and replay["message"]
    # Another body under the same key is still a conflict, and the first secret still works.
    assert _create_key(api, owner, "other", key="key-once")[1]["error"]["code"] == "idempotency_conflict"
    assert call(api, "GET", "/v1/me", Caller(made["secret"]))[0] == 200


def test_no_issued_secret_is_stored_in_any_table(api, fresh_aws):
    admin_secret = f"sk_test_admin_{os.urandom(12).hex()}"
    bootstrap_admin(admin_secret)
    admin = Caller(admin_secret)
    issued = {admin_secret}

    for i, key in enumerate([None, "ws-a", "ws-a", None, "ws-b"]):
        status, body, _ = _create_workspace(api, admin, f"Scan{key or i}", key=key)  # a replay repeats its body
        assert status == 201, body
        issued |= {body["api_key"]} - {None}
    owner = Caller(next(s for s in issued if s != admin_secret))
    for i, key in enumerate([None, "k-1", "k-1", "k-2", None, "k-2"]):
        status, body, _ = _create_key(api, owner, f"key{key or i}", key=key)
        assert status == 201, body
        issued |= {body["secret"]} - {None}
    assert len(issued) == 1 + 4 + 4  # the admin's, 4 workspaces' and 4 keys' (replays issue none)
    for secret in issued:  # every one of them works: they were issued, and only their hashes are kept
        assert call(api, "GET", "/v1/me", Caller(secret))[0] == 200

    tables = table_names()
    assert any(name.endswith("-idempotency") for name in tables) and len(tables) >= 16
    seen_rows, hashes = 0, set()
    for table in tables:
        for item in scan(table):
            seen_rows += 1
            for text in strings(item):
                leaked = [s[:16] + "…" for s in issued if s in text]
                assert not leaked, f"{table} stores a secret: {leaked}"
                hashes.add(text)
    assert seen_rows > 20
    assert all(ids.hash_secret(secret) in hashes for secret in issued)  # what is stored instead
    records = list(scan(next(t for t in tables if t.endswith("-idempotency"))))
    assert len(records) >= 4  # the replayable creations were recorded (without their secrets)
