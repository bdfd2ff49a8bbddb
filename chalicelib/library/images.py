"""Images as first-class library items: list (filters, newest first), read, edit, trash, restore.

A listing page reads one index (a facet of the inverted index, or the folder index) newest
first, then the image rows by key (BatchGetItem), and keeps the rows that match every filter
(re-checked against the row, so a stale index row is never shown). When filters remove rows,
it reads on, at most MAX_ROUNDS times: a page costs at most 2 x MAX_ROUNDS requests whatever
the library's size, and may come back short with a cursor to continue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib import clock, ids
from chalicelib.library import changes, ranks, rules
from chalicelib.library.errors import BadLibraryInput, FolderNotFound, LibraryImageNotFound, NotYourItem
from chalicelib.store import folders as folder_store
from chalicelib.store import images as image_store
from chalicelib.store import library_index
from chalicelib.store.models import ImageModel
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    from chalicelib.tenancy.auth import Principal

MAX_ROUNDS = 3
UNSET: Any = object()


@dataclass(frozen=True)
class Actor:
    """Who edits: their own items need `library:write` (checked by the route), anyone's
    items `library:manage` (checked here, per item)."""

    workspace_id: str
    user_id: str
    manage: bool
    plan: str = "free"
    limits: dict[str, Any] | None = None


def actor_of(principal: Principal) -> Actor:
    stored = principal.key.scopes if principal.key is not None else None
    scopes = None if stored is None else {str(scope) for scope in stored}
    return Actor(
        principal.workspace_id,
        principal.user_id,
        permissions.allows(principal.role, scopes, permissions.LIBRARY_MANAGE),
        str(principal.workspace.plan or "free"),
        dict(principal.workspace.limits or {}),
    )


def may_edit(actor: Actor, image: ImageModel) -> None:
    if image.user_id != actor.user_id and not actor.manage:
        raise NotYourItem()


@dataclass(frozen=True)
class LibraryImage:
    """An image row with its presigned URLs (made here: signing is local, no request)."""

    row: ImageModel
    url: str
    thumbnail_url: str | None


def shown(row: ImageModel) -> LibraryImage:
    from chalicelib.library import objects

    thumb = objects.url(str(row.thumb_key)) if row.thumb_key else None
    return LibraryImage(row, objects.url(str(row.s3_key)), thumb)


@dataclass(frozen=True)
class Filters:
    folder_id: str | None = None
    tag: str | None = None
    words: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    trashed: bool = False

    def scope(self) -> str:
        """What a cursor is bound to besides the workspace."""
        return repr(
            (self.folder_id, self.tag, self.words, self.provider, self.model, self.kind, self.start, self.end, self.trashed)
        )


def filters_of(raw: dict[str, Any]) -> Filters:
    """Typed filters from parsed parameters; the tag and the words through the library's rules."""
    try:
        tag = rules.normalise_tag(raw["tag"]) if raw.get("tag") else None
    except rules.RuleError as error:
        raise BadLibraryInput(str(error), field="tag") from None
    words = tuple(rules.words_of(raw.get("q"))) if raw.get("q") else ()
    if raw.get("q") and not words:
        raise BadLibraryInput("q has no searchable word (2-32 letters or digits, not a stop word)", field="q")
    return Filters(
        raw.get("folder_id"), tag, words, raw.get("provider"), raw.get("model"), raw.get("kind"),
        raw.get("start"), raw.get("end"), bool(raw.get("trashed")),
    )  # fmt: skip


def matches(row: ImageModel, f: Filters) -> bool:
    """The row itself (not the index) decides."""
    checks = (
        (row.trashed_at is not None) == f.trashed,
        f.folder_id is None or row.folder_id == f.folder_id,
        f.tag is None or f.tag in (row.tags or []),
        not f.words or set(f.words) <= set(rules.words_of(row.title, row.prompt)),
        f.provider is None or row.provider == f.provider,
        f.model is None or row.model == f.model,
        f.kind is None or (row.kind or "generate") == f.kind,
    )
    return all(checks)


def _facet(f: Filters) -> str | None:
    """The most selective index for the filters (None: the folder index)."""
    if f.trashed:
        return "trash"
    if f.tag:
        return f"tag:{f.tag}"
    if f.words:
        return f"word:{max(f.words, key=len)}"
    if f.folder_id:
        return None
    for name, value in (("model", f.model), ("provider", f.provider), ("kind", f.kind)):
        if value:
            return f"{name}:{value}"
    return "all"


def _bounds(f: Filters, before: str | None) -> tuple[str, str]:
    low = "img_" + ids.ulid_bound(f.start, upper=False) if f.start else "img_"
    high = "img_" + ids.ulid_bound(f.end, upper=True) + "~" if f.end else "img_~"
    return low, min(high, before) if before else high


def _candidates(workspace_id: str, f: Filters, low: str, high: str, limit: int) -> tuple[list[str], bool]:
    facet = _facet(f)
    if facet is None:
        assert f.folder_id is not None
        return image_store.folder_page(workspace_id, f.folder_id, low, high, limit)
    return library_index.facet_page(workspace_id, facet, low, high, limit)


def list_images(workspace_id: str, f: Filters, limit: int, before: str | None) -> tuple[list[LibraryImage], str | None]:
    """A page newest first, and the id to continue before (None on the last page)."""
    rows, next_before = _page(workspace_id, f, limit, before)
    return [shown(row) for row in rows], next_before


def _page(workspace_id: str, f: Filters, limit: int, before: str | None) -> tuple[list[ImageModel], str | None]:
    low, high = _bounds(f, before)
    found: list[ImageModel] = []
    for _ in range(MAX_ROUNDS):
        candidates, more = _candidates(workspace_id, f, low, high, limit + 1)
        candidates = [c for c in candidates if c != before]
        rows = image_store.get_images(workspace_id, candidates)
        for n, image_id in enumerate(candidates):
            row = rows.get(image_id)
            if row is not None and matches(row, f):
                found.append(row)
            if len(found) == limit:
                return found, image_id if (more or n + 1 < len(candidates)) else None
        if not more or not candidates:
            return found, None
        before = high = candidates[-1]
    return found, before


def get_image(workspace_id: str, image_id: str) -> LibraryImage:
    return shown(read_image(workspace_id, image_id))


def read_image(workspace_id: str, image_id: str) -> ImageModel:
    row = image_store.get_image(workspace_id, image_id) if valid_image_id(image_id) else None
    if row is None:
        raise LibraryImageNotFound(image_id)
    return row


def _job_image(image_id: str) -> bool:
    """A generated image's id: img_ + 20 ULID characters + a 6-digit index (generation/worker)."""
    return image_id.startswith("img_") and len(image_id) == 30 and image_id[4:].isalnum()


def valid_image_id(image_id: str) -> bool:
    return ids.is_id(image_id, "img") or _job_image(image_id)


def _one(actor: Actor, image_id: str, plan: changes.Planner) -> LibraryImage:
    if not valid_image_id(image_id):
        raise LibraryImageNotFound(image_id)
    outcome = changes.run(actor.workspace_id, [image_id], plan, LibraryImageNotFound)
    if image_id in outcome.failed:
        raise outcome.failed[image_id]
    row = outcome.done[image_id]
    assert row is not None
    return shown(row)


def edit_change(
    actor: Actor, image: ImageModel, title: Any = UNSET, folder_id: Any = UNSET, tags: Any = UNSET
) -> changes.Change | None:
    """The change a PATCH (or a bulk move/tag/untag) makes; None when nothing changes."""
    may_edit(actor, image)
    attrs: dict[str, Any] = {}
    if title is not UNSET and title != image.title:
        attrs["title"] = title
    if tags is not UNSET and list(tags) != list(image.tags or []):
        attrs["tags"] = list(tags)
    if folder_id is not UNSET and folder_id != image.folder_id:
        attrs["folder_id"] = folder_id
        live = image.trashed_at is None
        attrs["folder_key"] = image_store.folder_key(actor.workspace_id, folder_id) if folder_id and live else None
        attrs["folder_rank"] = ranks.default_rank(image.image_id) if folder_id else None  # arrives unplaced
    return changes.Change(image, attrs) if attrs else None


def check_folder(workspace_id: str, folder_id: str | None) -> None:
    if folder_id is not None and folder_store.get_folder(workspace_id, folder_id) is None:
        raise FolderNotFound(folder_id, field="folder_id")


def update_image(actor: Actor, image_id: str, *, title: Any = UNSET, folder_id: Any = UNSET, tags: Any = UNSET) -> LibraryImage:
    """PATCH: title, folder (None: the root), tags (normalised; replaces the list)."""
    if tags is not UNSET:
        tags = _tags(tags)
    if folder_id is not UNSET:
        check_folder(actor.workspace_id, folder_id)
    return _one(actor, image_id, lambda image: edit_change(actor, image, title, folder_id, tags))


def _tags(raw: list[str]) -> list[str]:
    try:
        return rules.normalise_tags(raw)
    except rules.RuleError as error:
        raise BadLibraryInput(str(error), field=error.field) from None


def trash_image(actor: Actor, image_id: str) -> LibraryImage:
    now = clock.now()

    def plan(image: ImageModel) -> changes.Change | None:
        may_edit(actor, image)
        return changes.trash_change(image, now)

    return _one(actor, image_id, plan)


def restore_image(actor: Actor, image_id: str) -> LibraryImage:
    def exists(folder_id: str) -> bool:
        return folder_store.get_folder(actor.workspace_id, folder_id) is not None

    def plan(image: ImageModel) -> changes.Change | None:
        may_edit(actor, image)
        return changes.restore_change(image, exists)

    return _one(actor, image_id, plan)


def tag_counts(workspace_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, int]], str | None]:
    """The workspace's tags by name, with how many images carry each."""
    return library_index.tag_counts(workspace_id, after, limit)
