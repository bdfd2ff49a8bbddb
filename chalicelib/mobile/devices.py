"""Devices: a person registers the push token of each phone they use, per workspace.

- Registering the same token again is idempotent: the device it already is (`created` False,
  answered 200; a new device is 201). One token has one owner: a token another person (or the
  same person in another workspace) registered before moves to the caller, and the former
  device row goes in the same transaction.
- At most MAX_DEVICES per person and workspace: a new one beyond it replaces the oldest.
- ios/android tokens get an SNS platform endpoint (mobile/sns.py); expo tokens go to Expo.
- Tokens are never shown in full once stored (`token_hint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import clock, ids
from chalicelib.mobile import sns, tokens
from chalicelib.mobile.errors import DeviceNotFound, DeviceRace, PersonOnly
from chalicelib.store import devices as store
from chalicelib.store.models import DeviceModel
from chalicelib.store.transaction import TransactionCancelled

if TYPE_CHECKING:
    from chalicelib.tenancy.auth import Principal

MAX_DEVICES = 20
ATTEMPTS = 3


@dataclass(frozen=True)
class Person:
    """Whose devices: a user in one workspace (service keys have none)."""

    workspace_id: str
    user_id: str


def person_of(principal: Principal) -> Person:
    if principal.is_service:
        raise PersonOnly()
    return Person(principal.workspace_id, principal.user_id)


@dataclass(frozen=True)
class Device:
    """A device as shown: never its full token."""

    id: str
    platform: str
    token_hint: str
    created_at: datetime


@dataclass(frozen=True)
class Registered:
    device: Device
    created: bool


def view(row: DeviceModel) -> Device:
    return Device(str(row.device_id), str(row.platform), tokens.hint(str(row.token)), row.created_at)


def register_device(person: Person, platform: str, raw_token: str) -> Registered:
    """The device of this token for the person, created unless it already is theirs."""
    token = tokens.normalise(platform, raw_token)
    token_hash = tokens.token_hash(platform, token)
    owner = store.owner_key(person.workspace_id, person.user_id)
    for _ in range(ATTEMPTS):
        claim = store.get_claim(token_hash)
        if claim is not None and claim.claim_owner == owner:
            existing = store.get(person.workspace_id, person.user_id, str(claim.claim_device))
            if existing is not None:
                return Registered(view(existing), False)
        endpoint = sns.create_endpoint(platform, token) if platform in ("ios", "android") else None
        mine = store.of_owner(person.workspace_id, person.user_id)
        evict = mine[0] if len(mine) >= MAX_DEVICES else None
        now = clock.now()
        row = store.new_device(
            person.workspace_id, person.user_id, ids.new_id("dev", now),
            platform=platform, token=token, token_hash=token_hash, endpoint_arn=endpoint, now=now,
        )  # fmt: skip
        try:
            store.register(row, claim, evict)
        except TransactionCancelled:
            continue  # the token was registered concurrently: read its claim again
        if evict is not None and evict.endpoint_arn:
            sns.delete_endpoint(str(evict.endpoint_arn))
        return Registered(view(row), True)
    raise DeviceRace("the token was registered concurrently; retry")


def list_devices(person: Person, after: str | None, limit: int) -> tuple[list[Device], str | None]:
    """The person's devices in this workspace, oldest first, and the id to continue after."""
    rows = store.of_owner(person.workspace_id, person.user_id, after, limit + 1)
    page = rows[:limit]
    return [view(row) for row in page], (str(page[-1].device_id) if len(rows) > limit else None)


def remove_device(person: Person, device_id: str) -> None:
    """Forget one of the person's devices (anyone else's is not found)."""
    row = store.get(person.workspace_id, person.user_id, device_id) if ids.is_id(device_id, "dev") else None
    if row is None or not store.remove(row):
        raise DeviceNotFound(device_id)
    if row.endpoint_arn:
        sns.delete_endpoint(str(row.endpoint_arn))


def prune(owner: str, device_id: str) -> bool:
    """Drop a device whose token the push service called dead (receipts, EndpointDisabled)."""
    workspace_id, _, user_id = owner.partition("#")
    row = store.get(workspace_id, user_id, device_id)
    if row is None or not store.remove(row):
        return False
    if row.endpoint_arn:
        sns.delete_endpoint(str(row.endpoint_arn))
    return True
