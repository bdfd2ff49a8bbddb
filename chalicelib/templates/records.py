"""What the template use cases hand out: a template at one version, and its usage counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.templates.rules import Variable

VISIBILITIES = ("private", "workspace", "public")
SCOPES = ("prebuilt", "workspace", "public")


@dataclass(frozen=True)
class Pins:
    """What a template may fix for the jobs made from it (None: the request's or user's choice)."""

    provider: str | None = None
    model: str | None = None
    size: str | None = None
    n: int | None = None


@dataclass(frozen=True)
class TemplateRecord:
    """A template as of `version` (the latest unless a pinned one was asked for).

    `workspace_id` is None for the prebuilt catalogue, which everyone may use and nobody edits.
    """

    template_id: str
    version: int
    latest_version: int
    name: str
    prompt: str
    variables: dict[str, Variable]
    tags: tuple[str, ...]
    visibility: str
    pins: Pins
    workspace_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def prebuilt(self) -> bool:
        return self.workspace_id is None


@dataclass(frozen=True)
class TemplateUsage:
    """How often jobs were made from a template, and by how many workspaces."""

    uses: int = 0
    workspaces: int = 0


@dataclass(frozen=True)
class Caller:
    """Who uses or edits a template: visibility and edit rights are decided from this."""

    workspace_id: str
    user_id: str
    role: str
