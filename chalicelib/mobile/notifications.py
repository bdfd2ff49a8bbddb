"""Push notification settings of a person: which ends of jobs push to their devices.

Kept in the user's settings under "push" (`{"job_succeeded": bool, "job_failed": bool}`, both
on by default); `GET/PUT /v1/me/notifications`. PUT changes the fields given and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from chalicelib.mobile.errors import PersonOnly
from chalicelib.store import users

if TYPE_CHECKING:
    from chalicelib.tenancy.auth import Principal

KEY: Final = "push"
EVENTS: Final = {"job.succeeded": "job_succeeded", "job.failed": "job_failed"}


@dataclass(frozen=True)
class PushSettings:
    job_succeeded: bool = True
    job_failed: bool = True

    def wants(self, event_type: str) -> bool:
        name = EVENTS.get(event_type)
        return bool(getattr(self, name)) if name else False


def of_settings(settings: dict[str, Any] | None) -> PushSettings:
    stored = (settings or {}).get(KEY) or {}
    return PushSettings(bool(stored.get("job_succeeded", True)), bool(stored.get("job_failed", True)))


def get_push_settings(principal: Principal) -> PushSettings:
    if principal.is_service:
        raise PersonOnly()
    return of_settings(principal.user.settings)


def update_push_settings(principal: Principal, given: dict[str, bool]) -> PushSettings:
    """Change the fields given; the others keep their value."""
    if principal.is_service:
        raise PersonOnly()
    user = principal.user
    current = of_settings(user.settings)
    merged = {"job_succeeded": current.job_succeeded, "job_failed": current.job_failed, **given}
    users.update_profile(user, settings={**dict(user.settings or {}), KEY: merged})
    return of_settings(user.settings)


def wants(user_id: str, event_type: str) -> bool:
    """Whether the person's settings ask for a push of this event (an unknown person: no)."""
    user = users.get(user_id, consistent=False)
    return user is not None and of_settings(user.settings).wants(event_type)
