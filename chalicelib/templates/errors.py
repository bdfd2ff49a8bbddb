"""What the template use cases refuse, as domain kinds (`chalicelib.api.errors` maps them to HTTP).

A bad variable names its culprit as `field: "variables.<name>"`, the contract of API.md, so a
client can point at the input that was wrong.
"""

from __future__ import annotations

from chalicelib.domain import Conflict, InvalidInput, NotAllowed, NotFound


class TemplateNotFound(NotFound):
    """No such template for this caller: another tenant's private or workspace template, a
    deleted one, or a version that never existed, are all simply not found."""


class InvalidTemplate(InvalidInput):
    """The template itself is wrong (an undeclared slot, a default outside its bounds, ...)."""


class InvalidVariables(InvalidInput):
    """A value given for a variable is missing, unknown, of the wrong type or out of bounds."""


class TemplateReadOnly(NotAllowed):
    """The caller may use this template but not change it (prebuilt, another workspace's, or
    another member's without the library:manage permission)."""


class TemplateChanged(Conflict):
    """Another edit made a new version first; read the template again and retry."""
