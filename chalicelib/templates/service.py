"""Template use cases: create, read (any version), edit (a new version), delete, list, render,
and the rendering a job does before admission.

Who sees what: a prebuilt or public template, everyone; a workspace template, its workspace; a
private one, its creator; a template listed in the marketplace, its workspace and the workspaces
that bought it (chalicelib/marketplace/purchases.py). Anything a caller may not see is not found (its existence does not
leak). Who edits: the creator, or a member whose role grants library:manage (owners, admins) for
another member's workspace or public template; prebuilt templates and other workspaces' public
ones are read-only. The route has already checked the library:write permission.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import clock, ids
from chalicelib.accounting.errors import UnknownPrice
from chalicelib.accounting.prices import DEFAULT_MODEL, model_price
from chalicelib.marketplace import purchases as market
from chalicelib.store import templates as store
from chalicelib.store.models import TemplateModel
from chalicelib.templates import catalogue, rules, search
from chalicelib.templates.errors import InvalidTemplate, TemplateChanged, TemplateNotFound, TemplateReadOnly
from chalicelib.templates.records import Caller, Pins, TemplateRecord, TemplateUsage
from chalicelib.tenancy import permissions

Cursor = str  # the id of the last template shown


@dataclass(frozen=True)
class TemplateDraft:
    """A template's content as a create or an edit gives it (variables as their JSON declarations)."""

    name: str
    prompt: str
    variables: dict[str, dict[str, Any]]
    visibility: str
    tags: tuple[str, ...] = ()
    provider: str | None = None
    model: str | None = None
    size: str | None = None
    n: int | None = None


@dataclass(frozen=True)
class TemplateQuery:
    """A listing: which scope, the words of `?q=` and the `?tag=`."""

    scope: str
    words: tuple[str, ...] = ()
    tag: str | None = None


@dataclass(frozen=True)
class TemplateDetail:
    """One template with its usage counts (GET answers both)."""

    template: TemplateRecord
    usage: TemplateUsage | None


@dataclass(frozen=True)
class Rendered:
    """A prompt rendered from a template at one version, with the template's pins."""

    prompt: str
    template: TemplateRecord


# --- rows and records -------------------------------------------------------------------------


def _record(row: TemplateModel, latest: int | None = None) -> TemplateRecord:
    return TemplateRecord(
        template_id=row.template_id,
        version=int(row.version) or int(row.latest_version),
        latest_version=int(latest if latest is not None else row.latest_version),
        name=row.name,
        prompt=row.prompt,
        variables={name: rules.declare_one(name, spec) for name, spec in (row.variables or {}).items()},
        tags=tuple(str(tag) for tag in row.tags or ()),
        visibility=row.visibility,
        pins=Pins(row.provider, row.model, row.size, int(row.n) if row.n is not None else None),
        workspace_id=row.workspace_id,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _checked(draft: TemplateDraft) -> dict[str, rules.Variable]:
    """The draft's variables, after every rule a saved template obeys."""
    variables = rules.declare(draft.variables)
    rules.check_template(draft.prompt, variables)
    if draft.model is not None:
        if draft.provider is None:
            raise InvalidTemplate("a pinned model needs its provider", field="model")
        try:
            model_price(draft.provider, draft.model)
        except UnknownPrice:
            raise InvalidTemplate(f"unknown model {draft.model!r} for provider {draft.provider!r}", field="model") from None
    return variables


def _version_row(template_id: str, version: int, draft: TemplateDraft, caller: Caller, created: Any) -> TemplateModel:
    variables = _checked(draft)
    return store.new_version(
        template_id,
        version,
        workspace_id=caller.workspace_id,
        created_by=caller.user_id,
        name=draft.name,
        prompt=draft.prompt,
        variables={name: variable.as_dict() for name, variable in variables.items()},
        tags=list(draft.tags),
        words=search.template_words(draft.name, draft.prompt),
        visibility=draft.visibility,
        provider=draft.provider,
        model=draft.model,
        size=draft.size,
        n=draft.n,
        created_at=created,
        updated_at=clock.now(),
    )


# --- who may see and edit ---------------------------------------------------------------------


def _visible(caller: Caller, row: TemplateModel) -> bool:
    if row.deleted_at is not None:
        return False
    if row.workspace_id == caller.workspace_id:
        return row.visibility != "private" or row.created_by == caller.user_id
    # Another workspace's template: a listed one (for sale in the marketplace) only for the
    # workspaces that bought it, whatever its visibility now; otherwise public ones.
    access = market.owns(caller.workspace_id, row.template_id)
    return access.purchased or (row.visibility == "public" and not access.listed)


def _head(caller: Caller, template_id: str) -> TemplateModel:
    """The head row of a template this caller may see; TemplateNotFound otherwise."""
    row = store.get(template_id) if ids.is_id(template_id, "tpl") else None
    if row is None or not _visible(caller, row):
        raise TemplateNotFound(f"template {template_id} not found")
    return row


def _editable(caller: Caller, template_id: str) -> TemplateModel:
    """The head of a template this caller may change; TemplateReadOnly when they may only use it."""
    if catalogue.find(template_id) is not None:
        raise TemplateReadOnly("prebuilt templates cannot be changed; create your own from this one")
    row = _head(caller, template_id)
    if row.workspace_id != caller.workspace_id:
        raise TemplateReadOnly("this public template belongs to another workspace")
    if row.created_by != caller.user_id and not permissions.role_allows(caller.role, permissions.LIBRARY_MANAGE):
        raise TemplateReadOnly(f"editing another member's template needs the {permissions.LIBRARY_MANAGE!r} permission")
    return row


def _find(caller: Caller, template_id: str, version: int | None = None) -> TemplateRecord:
    """A template this caller may use, at `version` (default: the latest)."""
    prebuilt = catalogue.find(template_id)
    if prebuilt is not None:
        if version not in (None, 1):
            raise TemplateNotFound(f"template {template_id} has no version {version}")
        return prebuilt
    head = _head(caller, template_id)
    if version is None or version == head.latest_version:
        return _record(head)
    row = store.get(template_id, version) if 1 <= version < int(head.latest_version) else None
    if row is None:
        raise TemplateNotFound(f"template {template_id} has no version {version}")
    return _record(row, latest=int(head.latest_version))


# --- use cases --------------------------------------------------------------------------------


def create_template(caller: Caller, draft: TemplateDraft, template_id: str | None = None) -> TemplateRecord:
    """A new template at version 1, owned by the caller's workspace; `template_id` is the id an
    offline client chose (a `tpl_` ULID, mobile/sync.py)."""
    now = clock.now()
    row = _version_row(template_id or ids.new_id("tpl", now), 1, draft, caller, now)
    store.create(row)
    return _record(row)


def get_template(caller: Caller, template_id: str, version: int | None = None) -> TemplateDetail:
    """A template (a pinned version if asked) with its usage counts."""
    record = _find(caller, template_id, version)
    uses, workspaces = store.usage(template_id)
    return TemplateDetail(record, TemplateUsage(uses, workspaces))


def update_template(caller: Caller, template_id: str, changes: Mapping[str, Any]) -> TemplateRecord:
    """The template with `changes` applied, as a new version; earlier versions stay readable.
    Its workspace, creator and creation time stay."""
    head = _editable(caller, template_id)
    current = _record(head)
    draft = TemplateDraft(
        name=current.name,
        prompt=current.prompt,
        variables={name: variable.as_dict() for name, variable in current.variables.items()},
        visibility=current.visibility,
        tags=current.tags,
        provider=current.pins.provider,
        model=current.pins.model,
        size=current.pins.size,
        n=current.pins.n,
    )
    updates: dict[str, Any] = {name: tuple(v) if name == "tags" else v for name, v in changes.items()}
    draft = dataclasses.replace(draft, **updates)
    row = _version_row(template_id, current.version + 1, draft, caller, head.created_at)
    row.workspace_id, row.created_by = head.workspace_id, head.created_by
    if not store.add_version(row):
        raise TemplateChanged("the template was changed or deleted meanwhile; read it again and retry")
    return _record(row)


def check_editable(caller: Caller, template_id: str) -> None:
    """TemplateNotFound / TemplateReadOnly unless this caller may change the template (offline
    sync checks every pushed template before applying any)."""
    _editable(caller, template_id)


def delete_template(caller: Caller, template_id: str) -> None:
    """Out of every listing and out of use; jobs made from it keep their prompt and version."""
    head = _editable(caller, template_id)
    if not store.mark_deleted(template_id, int(head.latest_version), clock.now(), head.workspace_id):
        raise TemplateChanged("the template was changed or deleted meanwhile; read it again and retry")


def list_templates(
    caller: Caller, query: TemplateQuery, limit: int, before: Cursor | None
) -> tuple[list[TemplateRecord], Cursor | None]:
    """A page of the scope's templates, newest first, with where the next page starts."""
    if query.scope == "prebuilt":
        return _prebuilt_page(query, limit, before)
    where = store.ListingFilter(query.words, query.tag, caller.user_id if query.scope == "workspace" else None)
    if query.scope == "workspace":
        rows, last = store.workspace_page(caller.workspace_id, limit, before, where)
    else:
        rows, last = store.public_page(limit, before, where)
        listed = market.listed_among([row.template_id for row in rows if row.workspace_id != caller.workspace_id])
        rows = [row for row in rows if row.template_id not in listed]  # for sale: found in the marketplace
    return [_record(row) for row in rows], last


def _prebuilt_page(query: TemplateQuery, limit: int, before: Cursor | None) -> tuple[list[TemplateRecord], Cursor | None]:
    found = [
        record
        for record in catalogue.prebuilt()
        if (before is None or record.template_id < before)
        and search.matches(list(query.words), query.tag, search.template_words(record.name, record.prompt), record.tags)
    ]
    page = found[:limit]
    return page, (page[-1].template_id if len(found) > limit else None)


def render_template(caller: Caller, template_id: str, given: Mapping[str, Any], version: int | None = None) -> Rendered:
    """The prompt the template makes with these values (the latest version unless pinned)."""
    template = _find(caller, template_id, version)
    values = rules.resolve(template.variables, given)
    return Rendered(rules.render(template.prompt, values), template)


def count_use(template_id: str, workspace_id: str, job_id: str) -> None:
    """Count a job made from the template (the job id spreads the writes over the shards)."""
    store.record_use(template_id, workspace_id, zlib.crc32(job_id.encode("utf-8")), clock.now())


def fallback_model(pins: Pins) -> tuple[str | None, str | None]:
    """The (model, notice) a job uses for the template's pinned model: the model itself while it
    is priced, else the provider's default and a notice saying so."""
    if pins.model is None or pins.provider is None:
        return pins.model, None
    try:
        model_price(pins.provider, pins.model)
    except UnknownPrice:
        default = DEFAULT_MODEL.get(pins.provider)
        return default, f"the template's model {pins.model!r} is no longer available; used {default!r}, {pins.provider}'s default"
    return pins.model, None
