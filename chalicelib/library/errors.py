"""What the library refuses, as domain kinds (`chalicelib.api.errors` maps them to HTTP)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import Conflict, InvalidInput, NotAllowed, NotFound, PaymentRequired, Throttled, TooLarge


class LibraryImageNotFound(NotFound):
    """No such image in the caller's workspace (another tenant's image is not found either)."""

    def __init__(self, image_id: str) -> None:
        super().__init__(f"image {image_id} not found")


class FolderNotFound(NotFound):
    """No such folder in the caller's workspace."""

    def __init__(self, folder_id: str, field: str | None = None) -> None:
        details: dict[str, Any] = {"field": field} if field else {}
        super().__init__(f"folder {folder_id} not found", **details)


class ShareNotFound(NotFound):
    """No such share (or link): revoked and expired links are not found either."""


class UploadNotFound(NotFound):
    """No such upload, or it expired before it was completed."""


class NotYourItem(NotAllowed):
    """Editing another member's library item needs the `library:manage` permission."""

    def __init__(self) -> None:
        super().__init__(
            "this item belongs to another member: editing it needs the 'library:manage' permission", scope="library:manage"
        )


class FolderConflict(Conflict):
    """The folder tree does not allow it (a move into its own subtree, a non-empty delete)."""


class EditConflict(Conflict):
    """The item kept changing under concurrent edits; read it again and retry."""


class BadLibraryInput(InvalidInput):
    """A library value the rules refuse (tag, name, query)."""


class InvalidImage(InvalidInput):
    """The uploaded object is not an image we accept (type, size, pixels)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


class StorageQuotaExceeded(PaymentRequired):
    """The plan's storage for uploads is used up."""

    code = "quota_exceeded"

    def __init__(self, used: int, limit: int, size: int) -> None:
        super().__init__(
            f"this upload ({size} bytes) would exceed the plan's storage ({used} of {limit} bytes used)",
            quota="storage_bytes",
            limit=limit,
            used=used,
        )


class ShareRateLimited(Throttled):
    """Too many public link reads from one client address."""


# --- exports (issue 12) -------------------------------------------------------------------------


class ExportNotFound(NotFound):
    """No such export in the caller's workspace."""


class ExportTooLarge(TooLarge):
    """More images or bytes than one export may hold."""


class ExportsBusy(Throttled):
    """The workspace already has MAX_PENDING_EXPORTS exports queued or running."""
