"""/v1/templates: list (prebuilt, workspace or public), create, read a version, edit (a new
version), delete, and render a prompt.

Each route parses (auth, body, params), makes one call to `templates.service` and renders a
response model; the service's domain errors become envelopes in `api.routing.route`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api import cursors
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.templates.records as records
    import chalicelib.templates.search as search
    import chalicelib.templates.service as service
    from chalicelib.tenancy.auth import Principal
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    records = lazy_module("chalicelib.templates.records")
    search = lazy_module("chalicelib.templates.search")
    service = lazy_module("chalicelib.templates.service")

templates = Blueprint(__name__)

LIST_PARAMETERS = ("scope", "q", "tag", "limit", "cursor")
MAX_QUERY_CHARS = 200
MAX_VERSION = 1_000_000


@route(templates, "/v1/templates", methods=["GET"])
def list_templates() -> Response:
    request = templates.current_request
    principal = authenticate(request, permissions.LIBRARY_READ)
    params = query_params(request)
    query = _listing(params)
    listing = f"{principal.workspace_id}:{principal.user_id}:{query.scope}:{' '.join(query.words)}:{query.tag or ''}"
    before = _position(cursors.decode(params, "templates", listing))
    found, last = service.list_templates(_caller(principal), query, page_limit(params), before)
    return render(responses.TemplatePage.of(found, cursors.encode("templates", listing, {"before": last} if last else None)))


@route(templates, "/v1/templates", methods=["POST"])
def create_template() -> Response:
    request = templates.current_request
    principal = authenticate(request, permissions.LIBRARY_WRITE)
    body = validate(schemas.TemplateCreate, json_body(request))
    draft = service.TemplateDraft(
        **body.model_dump(exclude={"variables", "tags"}),
        variables={name: spec.model_dump(exclude_none=True) for name, spec in body.variables.items()},
        tags=tuple(body.tags),
    )
    return idempotent(
        request,
        principal.replay_scope,
        lambda: render(responses.TemplateEnvelope.of(service.create_template(_caller(principal), draft)), 201),
        templates.lambda_context,
    )


@route(templates, "/v1/templates/{template_id}", methods=["GET"])
def get_template(template_id: str) -> Response:
    request = templates.current_request
    principal = authenticate(request, permissions.LIBRARY_READ)
    detail = service.get_template(_caller(principal), template_id, _version(query_params(request)))
    return render(responses.TemplateEnvelope.of(detail.template, detail.usage))


@route(templates, "/v1/templates/{template_id}", methods=["PATCH"])
def update_template(template_id: str) -> Response:
    request = templates.current_request
    principal = authenticate(request, permissions.LIBRARY_WRITE)
    changes = validate(schemas.TemplatePatch, json_body(request)).changes()
    return render(responses.TemplateEnvelope.of(service.update_template(_caller(principal), template_id, changes)))


@route(templates, "/v1/templates/{template_id}", methods=["DELETE"])
def delete_template(template_id: str) -> Response:
    principal = authenticate(templates.current_request, permissions.LIBRARY_WRITE)
    service.delete_template(_caller(principal), template_id)
    return no_content()


@route(templates, "/v1/templates/{template_id}/render", methods=["POST"])
def render_template(template_id: str) -> Response:
    request = templates.current_request
    principal = authenticate(request, permissions.LIBRARY_READ)
    body = validate(schemas.TemplateRender, json_body(request))
    return render(responses.RenderedPrompt.of(service.render_template(_caller(principal), template_id, body.variables)))


# --- parsing ----------------------------------------------------------------------------------


def _caller(principal: Principal) -> records.Caller:
    return records.Caller(principal.workspace_id, principal.user_id, principal.role)


def _listing(params: dict[str, str]) -> service.TemplateQuery:
    """`scope` (default workspace), `q` (up to 5 words, all must match) and `tag`; any other
    parameter is refused rather than silently ignored."""
    for name in params:
        if name not in LIST_PARAMETERS:
            raise InvalidRequest(f"unknown parameter {name!r}; known: {', '.join(LIST_PARAMETERS)}", field=name)
    scope = params.get("scope") or "workspace"
    if scope not in records.SCOPES:
        raise InvalidRequest(f"scope must be one of {', '.join(records.SCOPES)}", field="scope")
    text = params.get("q", "")
    words = search.words(text)
    if len(text) > MAX_QUERY_CHARS or len(words) > search.MAX_QUERY_WORDS:
        raise InvalidRequest(f"q: at most {search.MAX_QUERY_WORDS} words and {MAX_QUERY_CHARS} characters", field="q")
    tag = params.get("tag") or None
    if tag is not None and not search.TAG.fullmatch(tag):
        raise InvalidRequest("tag: lower-case letters, digits and dashes, at most 32", field="tag")
    return service.TemplateQuery(scope, tuple(words), tag)


def _position(position: dict[str, object] | None) -> str | None:
    """The id a signed cursor resumes below (it was issued by this listing, so it is well formed)."""
    if position is None:
        return None
    before = position.get("before")
    if not isinstance(before, str):
        raise InvalidRequest("cursor is not valid: pass next_cursor of the same listing unchanged", field="cursor")
    return before


def _version(params: dict[str, str]) -> int | None:
    """`?version=` (a positive integer), the only parameter of a single template's read."""
    for name in params:
        if name != "version":
            raise InvalidRequest(f"unknown parameter {name!r}; known: version", field=name)
    raw = params.get("version")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7) or not 1 <= int(raw) <= MAX_VERSION:
        raise InvalidRequest("version must be a positive integer", field="version")
    return int(raw)
