"""What collections, the gallery and moderation refuse, as domain kinds (`chalicelib.api.errors`
maps them to HTTP)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import Conflict, InvalidInput, NotAllowed, NotFound, Throttled, Unavailable
from chalicelib.gallery.rules import RuleError


class CollectionNotFound(NotFound):
    """No such collection for this caller (another workspace's, or a private one seen publicly)."""

    def __init__(self, collection_id: str) -> None:
        super().__init__(f"collection {collection_id} not found")


class GalleryImageNotFound(NotFound):
    """No such image in the public gallery (never published, unpublished, hidden or trashed)."""

    def __init__(self, image_id: str) -> None:
        super().__init__(f"image {image_id} is not in the gallery", field="image_id")


class BadGalleryInput(InvalidInput):
    """A value the gallery's rules refuse (a name, a query, an order with duplicates)."""


class CollectionConflict(Conflict):
    """The collection's state does not allow it (full, an order that is not its items)."""


class NotInCollection(NotFound):
    """The image is not an item of the collection."""


class NotPublishable(Conflict):
    """The image cannot be published now (in the trash, or hidden by a moderator)."""


class NeedsManage(NotAllowed):
    """Showing something to the public (publishing, a public or unlisted collection) or editing
    another member's collection needs `library:manage` (owners and admins)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, scope="library:manage")


class CollectionBusy(Unavailable):
    """The collection kept changing under concurrent edits: nothing was written; retry."""

    def __init__(self) -> None:
        super().__init__("the collection kept changing concurrently; nothing was written, retry", retry_after=1)


class ClientRateLimited(Throttled):
    """Too many public requests from one client address in this minute."""


def from_rule(error: RuleError) -> InvalidInput | Conflict | NotFound:
    """The domain kind of a refused rule, with its field and details."""
    details: dict[str, Any] = dict(error.details)
    if error.kind == "conflict":
        if error.field:
            details["field"] = error.field
        return CollectionConflict(str(error), **details)
    if error.kind == "not_found":
        return NotInCollection(str(error), **details)
    return BadGalleryInput(str(error), field=error.field, **details)
