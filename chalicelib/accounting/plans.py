"""Plans and their limits: the one declarative place (admins override per workspace)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Limits:
    """What a workspace may do; every number is an integer."""

    requests_per_minute_user: int
    requests_per_minute_workspace: int
    requests_per_minute_key: int
    tokens_per_day: int
    credits_per_day: int
    max_concurrent_jobs: int  # jobs of the workspace running at once (the worker starts no more)
    providers: tuple[str, ...]
    max_queued_jobs: int = 0  # jobs admitted and not finished (queued + running): admission's cap

    def __post_init__(self) -> None:
        # Never fewer admitted than may run: raising the running cap raises the queue with it.
        if self.max_queued_jobs < self.max_concurrent_jobs:
            object.__setattr__(self, "max_queued_jobs", self.max_concurrent_jobs)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["providers"] = list(self.providers)
        data["requests_per_minute"] = self.requests_per_minute_workspace  # API.md's name for the workspace's rate
        return data


@dataclass(frozen=True)
class Plan:
    """A plan: a monthly allowance (also for yearly billing) and its limits."""

    name: str
    monthly_allowance: int
    limits: Limits
    intervals: tuple[str, ...] = ("month", "year")


_ALL = ("local", "gemini", "openai")

PLANS: dict[str, Plan] = {
    "free": Plan(
        "free",
        monthly_allowance=50,
        limits=Limits(10, 20, 10, 200_000, 50, 2, ("local", "gemini"), max_queued_jobs=10),
        intervals=(),
    ),
    "starter": Plan("starter", 1_000, Limits(30, 60, 30, 1_000_000, 500, 4, _ALL, max_queued_jobs=20)),
    "pro": Plan("pro", 10_000, Limits(60, 300, 60, 10_000_000, 5_000, 10, _ALL, max_queued_jobs=50)),
    "enterprise": Plan("enterprise", 100_000, Limits(600, 3_000, 600, 100_000_000, 100_000, 50, _ALL, max_queued_jobs=500)),
}

# Limit names an admin may override (PUT /admin/api/workspaces/{id}/limits).
OVERRIDABLE = tuple(f.name for f in fields(Limits))


@dataclass(frozen=True)
class ProviderQuota:
    """The platform's own quota at a provider, shared by every workspace."""

    requests_per_minute: int  # jobs admitted per minute (admission)
    images_per_minute: int | None  # provider calls per minute for the workers (None: no platform quota)


PROVIDER_QUOTAS: dict[str, ProviderQuota] = {
    "local": ProviderQuota(100_000, None),
    "gemini": ProviderQuota(600, 1_000),
    "openai": ProviderQuota(300, 500),
}


def get_plan(name: str) -> Plan:
    """The plan called `name`; unknown names fall back to free (never to more)."""
    return PLANS.get(name, PLANS["free"])


def effective_limits(plan_name: str, overrides: dict[str, Any] | None) -> Limits:
    """The plan's limits with the workspace's admin overrides applied."""
    limits = get_plan(plan_name).limits
    if not overrides:
        return limits
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in OVERRIDABLE or value is None:
            continue
        changes[key] = tuple(value) if key == "providers" else int(value)
    return replace(limits, **changes)


# A subscription whose payment failed keeps its plan this long, then falls back to free's limits.
PAST_DUE_GRACE_S = 3 * 86_400


def effective_plan(plan: str, past_due_since: int | float | None, now: datetime) -> str:
    """The plan whose limits apply now: past due for longer than the grace period falls back to
    free (the allowance already granted stays; only the limits drop)."""
    if past_due_since is not None and now.timestamp() - float(past_due_since) > PAST_DUE_GRACE_S:
        return "free"
    return plan
