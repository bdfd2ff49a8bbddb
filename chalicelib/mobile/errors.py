"""What the mobile backend refuses, as domain kinds (`chalicelib.api.errors` maps them to HTTP)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import Conflict, InvalidInput, NotAllowed, NotFound, TooLarge


class InvalidToken(InvalidInput):
    """A push token that is not of its platform's shape (or is too long)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="token")


class PlatformNotConfigured(InvalidInput):
    """APNs/FCM go through SNS platform applications; this deployment has none for the platform."""

    def __init__(self, platform: str) -> None:
        super().__init__(f"push to {platform} devices is not configured on this deployment", field="platform")


class DeviceNotFound(NotFound):
    """No such device of the caller (another person's device is not found either)."""

    def __init__(self, device_id: str) -> None:
        super().__init__(f"device {device_id} not found")


class PersonOnly(NotAllowed):
    """Devices, notification settings and sync belong to a person: a service key has none."""

    def __init__(self) -> None:
        super().__init__("a service key acts for the workspace, not a person: use a personal key")


class DeviceRace(Conflict):
    """The same token was registered concurrently and kept changing hands; retry."""


class SyncConflict(Conflict):
    """A pushed record changed on the server after the client's last pull: nothing was applied."""

    def __init__(self, records: list[str]) -> None:
        details: dict[str, Any] = {"records": records[:20]}
        super().__init__(
            f"{len(records)} record(s) changed on the server after last_pulled_at: pull, resolve and push again", **details
        )


class BadSyncRecord(InvalidInput):
    """A pushed change the sync cannot apply (an unknown table, a read-only field, a bad id)."""


class SyncTooLarge(TooLarge):
    """More pushed changes than one request may carry."""


class SyncExpired(Conflict):
    """The client's last pull is older than deletions are remembered: its local database cannot
    be brought up to date by changes (409), it must start afresh."""

    def __init__(self, days: int) -> None:
        super().__init__(
            f"the last pull is older than {days} days (how long deletions are kept): reset the local database "
            "and pull with last_pulled_at=null",
            field="last_pulled_at",
            reason="sync_expired",
        )
