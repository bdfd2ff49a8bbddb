"""Offline sync, push side: `POST /v1/sync` (WatermelonDB's `pushChanges`).

The client's created/updated/deleted records go through the library and template services
(their validation and permissions), in three steps:
1. check: ids of the right kind, each record once, and no conflict: a record the server changed
   after the client saw it refuses the whole push (409 `conflict`, nothing applied);
2. preflight: every record is read and every permission checked (404/403/400, nothing applied);
3. apply, in an order that keeps references valid: templates; folders created (parents first)
   and updated; images updated, then trashed; tags deleted (untagged everywhere); folders
   deleted (children first). A record already as pushed changes nothing, so a push that failed
   half-way (the service refused a template, a race) can be pushed again after a pull.

What a push may do, per table: images updated (title, tags, folder_id) or deleted (to the
trash); folders created (with the client's `fld_` id), updated (name, parent_id) or deleted
(empty ones); tags created (accepted, nothing to store: a tag exists on images) or deleted (off
every image); templates created (with the client's `tpl_` id), updated (name, prompt, tags,
visibility: a new version) or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import ids
from chalicelib.domain import DomainError, NotFound
from chalicelib.library import bulk
from chalicelib.library import folders as folder_service
from chalicelib.library import images as image_service
from chalicelib.library import rules as library_rules
from chalicelib.library.errors import FolderNotFound, LibraryImageNotFound, NotYourItem
from chalicelib.mobile import sync_rules as rules
from chalicelib.mobile import sync_sources
from chalicelib.mobile.errors import BadSyncRecord, SyncConflict, SyncTooLarge
from chalicelib.settings import get_settings
from chalicelib.store import images as image_store
from chalicelib.store import library_index, sync_log
from chalicelib.store import templates as template_store
from chalicelib.templates import service as template_service
from chalicelib.templates.records import Caller

if TYPE_CHECKING:
    from chalicelib.library.images import Actor

ALLOWED = {
    "images": {rules.UPDATED, rules.DELETED},
    "folders": {rules.CREATED, rules.UPDATED, rules.DELETED},
    "tags": {rules.CREATED, rules.DELETED},
    "templates": {rules.CREATED, rules.UPDATED, rules.DELETED},
}
REQUIRED = {("folders", rules.CREATED): ("name",), ("templates", rules.CREATED): ("name", "prompt")}
MAX_TAG_IMAGES = 500  # a pushed tag deletion untags at most this many images (more: 413)


@dataclass(frozen=True)
class Change:
    """One pushed record: its table, what happened to it, its writable fields (validated by the
    request schema) and the `server_changed_at` the client holds for it."""

    table: str
    op: str
    record_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    held: int | None = None

    @property
    def key(self) -> str:
        return sync_log.record_key(self.table, self.record_id)

    @property
    def where(self) -> str:
        return f"changes.{self.table}.{self.op}"


@dataclass(frozen=True)
class Applied:
    created: int = 0
    updated: int = 0
    deleted: int = 0


def push(actor: Actor, caller: Caller, changes: list[Change], last_pulled_at: int | None) -> Applied:
    """Apply the client's changes, or refuse them all (see the module's docstring)."""
    _check(changes)
    log = sync_sources.last_changes(actor.workspace_id, [c.key for c in changes])
    seen = rules.seen_until(last_pulled_at, get_settings().sync_overlap_ms)
    found = rules.conflicts(((c.key, c.held) for c in changes), log, seen)
    if found:
        raise SyncConflict(found)
    _preflight(actor, caller, changes)
    _apply(actor, caller, changes)
    return Applied(*(sum(1 for c in changes if c.op == op) for op in (rules.CREATED, rules.UPDATED, rules.DELETED)))


# --- 1. check -----------------------------------------------------------------------------------


def _valid_id(table: str, record_id: str) -> bool:
    if table == "images":
        return image_service.valid_image_id(record_id)
    if table == "tags":
        try:
            return library_rules.normalise_tag(record_id) == record_id
        except library_rules.RuleError:
            return False
    return ids.is_id(record_id, "fld" if table == "folders" else "tpl")


def _check(changes: list[Change]) -> None:
    if len(changes) > rules.MAX_PUSH_RECORDS:
        raise SyncTooLarge(f"a push carries at most {rules.MAX_PUSH_RECORDS} records; push the rest after this one")
    seen: set[str] = set()
    for change in changes:
        if change.op not in ALLOWED.get(change.table, set()):
            raise BadSyncRecord(f"{change.table} cannot be {change.op} through sync", field=change.where)
        if not _valid_id(change.table, change.record_id):
            raise BadSyncRecord(f"{change.record_id!r} is not an id of {change.table}", field=f"{change.where}.id")
        if change.key in seen:
            raise BadSyncRecord(f"{change.key} appears more than once in this push", field=f"{change.where}.id")
        seen.add(change.key)
        _check_required(change)


def _check_required(change: Change) -> None:
    missing = [name for name in REQUIRED.get((change.table, change.op), ()) if change.fields.get(name) is None]
    if missing:
        raise BadSyncRecord(f"a created {change.table} record needs {', '.join(missing)}", field=f"{change.where}.{missing[0]}")


# --- 2. preflight -------------------------------------------------------------------------------


def _of(changes: list[Change], table: str, *ops: str) -> list[Change]:
    return [c for c in changes if c.table == table and c.op in ops]


def _preflight(actor: Actor, caller: Caller, changes: list[Change]) -> None:
    tree = folder_service.Tree(actor.workspace_id)
    created_folders = {c.record_id for c in _of(changes, "folders", rules.CREATED)}
    _preflight_folders(actor, tree, changes, created_folders)
    _preflight_images(actor, changes, set(tree.rows) | created_folders)
    _preflight_tags(actor, changes)
    _preflight_templates(caller, changes)


def _preflight_folders(actor: Actor, tree: folder_service.Tree, changes: list[Change], created: set[str]) -> None:
    for change in _of(changes, "folders", rules.CREATED, rules.UPDATED):
        if "name" in change.fields:
            _rule(lambda c=change: library_rules.folder_name(str(c.fields["name"])), f"{change.where}.name")
        parent = change.fields.get("parent_id")
        if parent is not None and parent not in tree.rows and parent not in created:
            raise FolderNotFound(str(parent), field=f"{change.where}.parent_id")
    for change in _of(changes, "folders", rules.UPDATED, rules.DELETED):
        row = tree.rows.get(change.record_id)
        if row is None and change.op == rules.UPDATED:
            raise FolderNotFound(change.record_id, field=f"{change.where}.id")
        if row is not None and row.user_id != actor.user_id and not actor.manage:
            raise NotYourItem()


def _preflight_images(actor: Actor, changes: list[Change], folders: set[str]) -> None:
    mine = _of(changes, "images", rules.UPDATED, rules.DELETED)
    rows = image_store.get_images(actor.workspace_id, [c.record_id for c in mine])
    for change in mine:
        row = rows.get(change.record_id)
        if row is None:
            if change.op == rules.UPDATED:
                raise LibraryImageNotFound(change.record_id)
            continue  # deleted on both sides
        image_service.may_edit(actor, row)
        if "tags" in change.fields:
            _rule(lambda c=change: library_rules.normalise_tags(list(c.fields["tags"])), f"{change.where}.tags")
        folder = change.fields.get("folder_id")
        if folder is not None and folder not in folders:
            raise FolderNotFound(str(folder), field=f"{change.where}.folder_id")


def _tagged(workspace_id: str, tag: str) -> list[str]:
    found, more = library_index.facet_page(workspace_id, f"tag:{tag}", "img_", "img_~", MAX_TAG_IMAGES + 1)
    if more or len(found) > MAX_TAG_IMAGES:
        raise SyncTooLarge(f"tag {tag!r} is on more than {MAX_TAG_IMAGES} images: untag them with POST /v1/images/bulk")
    return found


def _preflight_tags(actor: Actor, changes: list[Change]) -> None:
    for change in _of(changes, "tags", rules.DELETED):
        rows = image_store.get_images(actor.workspace_id, _tagged(actor.workspace_id, change.record_id))
        for row in rows.values():
            if change.record_id in (row.tags or []):
                image_service.may_edit(actor, row)


def _preflight_templates(caller: Caller, changes: list[Change]) -> None:
    created = _of(changes, "templates", rules.CREATED)
    existing = template_store.heads([c.record_id for c in created])
    for change in created:
        head = existing.get(change.record_id)
        if head is not None and head.workspace_id != caller.workspace_id:
            raise BadSyncRecord(f"template id {change.record_id} is taken: choose another", field=f"{change.where}.id")
    for change in _of(changes, "templates", rules.UPDATED, rules.DELETED):
        try:
            template_service.check_editable(caller, change.record_id)
        except NotFound:
            if change.op == rules.UPDATED:
                raise


def _rule(check: Any, where: str) -> None:
    try:
        check()
    except library_rules.RuleError as error:
        raise BadSyncRecord(str(error), field=where) from None


# --- 3. apply -----------------------------------------------------------------------------------


def _apply(actor: Actor, caller: Caller, changes: list[Change]) -> None:
    _apply_templates(caller, changes)
    _create_folders(actor, _of(changes, "folders", rules.CREATED))
    for change in _of(changes, "folders", rules.UPDATED):
        folder_service.update_folder(actor, change.record_id, **change.fields)
    for change in _of(changes, "images", rules.UPDATED):
        if change.fields:
            image_service.update_image(actor, change.record_id, **change.fields)
    for change in _of(changes, "images", rules.DELETED):
        _quietly(lambda c=change: image_service.trash_image(actor, c.record_id))
    for change in _of(changes, "tags", rules.DELETED):
        _untag(actor, change.record_id)
    parents = {f: row.parent_id for f, row in folder_service.Tree(actor.workspace_id).rows.items()}
    for folder_id in rules.deepest_first([c.record_id for c in _of(changes, "folders", rules.DELETED)], parents):
        _quietly(lambda f=folder_id: folder_service.delete_folder(actor, f, recursive=False))


def _create_folders(actor: Actor, created: list[Change]) -> None:
    """Parents first; a folder that exists already (a push sent again) is updated instead."""
    existing = folder_service.Tree(actor.workspace_id).rows
    for record in rules.parents_first([{"id": c.record_id, **c.fields} for c in created]):
        folder_id, name, parent = str(record["id"]), str(record["name"]), record.get("parent_id")
        parent_id = parent if isinstance(parent, str) else None
        if folder_id in existing:
            folder_service.update_folder(actor, folder_id, name=name, parent_id=parent_id)
        else:
            folder_service.create_folder(actor, name, parent_id, folder_id)


def _quietly(action: Any) -> None:
    """Deleting what the server has deleted already is done."""
    try:
        action()
    except NotFound:
        pass


def _untag(actor: Actor, tag: str) -> None:
    tagged = _tagged(actor.workspace_id, tag)
    if not tagged:
        return
    for result in bulk.bulk(actor, "untag", tagged, None, [tag]):
        if not result.ok and isinstance(result.error, DomainError) and not isinstance(result.error, NotFound):
            raise result.error


def _apply_templates(caller: Caller, changes: list[Change]) -> None:
    for change in _of(changes, "templates", rules.CREATED):
        if template_store.get(change.record_id) is not None:
            _update_template(caller, change)
            continue
        draft = template_service.TemplateDraft(
            name=str(change.fields["name"]), prompt=str(change.fields["prompt"]),
            variables=dict(change.fields.get("variables") or {}), visibility=str(change.fields.get("visibility") or "private"),
            tags=tuple(change.fields.get("tags") or ()),
        )  # fmt: skip
        template_service.create_template(caller, draft, change.record_id)
    for change in _of(changes, "templates", rules.UPDATED):
        _update_template(caller, change)
    for change in _of(changes, "templates", rules.DELETED):
        _quietly(lambda c=change: template_service.delete_template(caller, c.record_id))


def _update_template(caller: Caller, change: Change) -> None:
    """A new version only when a pushed field differs from the template as it is."""
    current = template_service.get_template(caller, change.record_id).template
    now = {"name": current.name, "prompt": current.prompt, "tags": list(current.tags), "visibility": current.visibility}
    differing = {k: v for k, v in change.fields.items() if k in now and now[k] != v}
    if differing:
        template_service.update_template(caller, change.record_id, differing)
