"""The webhooks area's failures, as domain kinds (api/errors.py maps them to statuses)."""

from __future__ import annotations

from chalicelib.domain import Conflict, InvalidInput, NotFound


class UnsafeUrl(InvalidInput):
    """An endpoint URL we will not call: not https, or resolving to a private address."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


class EndpointNotFound(NotFound):
    """No such endpoint in the caller's workspace (another tenant's is not found either)."""


class DeliveryNotFound(NotFound):
    """No such delivery in the caller's workspace."""


class TooManyEndpoints(Conflict):
    """A workspace's endpoints are read whole on every event: their number is bounded."""


class EndpointDisabled(Conflict):
    """A delivery to a disabled endpoint cannot be replayed until it is enabled again."""


class EndpointStatusUnchanged(Conflict):
    """An operator disabled an endpoint that is disabled already (or enabled an enabled one)."""
