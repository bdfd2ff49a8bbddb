"""/v1/images, /v1/folders, /v1/tags, /v1/images/bulk: the library (API.md "Library").

Each route parses (auth, body, params), makes one call to a `chalicelib.library` service and
renders a response model. Reads need `library:read`; edits `library:write`, and editing another
member's item `library:manage` (the service checks that per item).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import Request, Response

from chalicelib.api import cursors
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate, authenticate_admin, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.params import known, parse_time
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.library.bulk as bulk_service
    import chalicelib.library.folder_order as folder_order
    import chalicelib.library.folders as folders
    import chalicelib.library.images as images
    import chalicelib.library.shares as shares
    import chalicelib.library.uploads as uploads
    import chalicelib.library.usage as usage
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    images = lazy_module("chalicelib.library.images")
    folders = lazy_module("chalicelib.library.folders")
    folder_order = lazy_module("chalicelib.library.folder_order")
    bulk_service = lazy_module("chalicelib.library.bulk")
    uploads = lazy_module("chalicelib.library.uploads")
    shares = lazy_module("chalicelib.library.shares")
    usage = lazy_module("chalicelib.library.usage")

library = Blueprint(__name__)

KINDS = ("generate", "vary", "upscale", "edit", "style_transfer", "upload")
MAX_Q_CHARS = 200
IMAGE_QUERY = ("limit", "cursor", "folder_id", "tag", "q", "provider", "model", "kind", "from", "to", "trashed")


# --- images -----------------------------------------------------------------------------------


@route(library, "/v1/images", methods=["GET"])
def list_images() -> Response:
    request = library.current_request
    workspace_id = authenticate(request, permissions.LIBRARY_READ).workspace.workspace_id
    params = query_params(request)
    limit, found = page_limit(params), images.filters_of(_image_filters(params))
    scope = f"{workspace_id}|{found.scope()}"
    before = _before(cursors.decode(params, "images", scope))
    rows, last = images.list_images(workspace_id, found, limit, before)
    return render(responses.LibraryImagePage.of(rows, cursors.encode("images", scope, {"before": last} if last else None)))


@route(library, "/v1/images/{image_id}", methods=["GET"])
def get_image(image_id: str) -> Response:
    principal = authenticate(library.current_request, permissions.LIBRARY_READ)
    return render(responses.LibraryImageEnvelope.of(images.get_image(principal.workspace_id, image_id)))


@route(library, "/v1/images/{image_id}", methods=["PATCH"])
def update_image(image_id: str) -> Response:
    request = library.current_request
    actor = images.actor_of(authenticate(request, permissions.LIBRARY_WRITE))
    body = validate(schemas.ImagePatch, json_body(request))
    given = {name: getattr(body, name) for name in body.model_fields_set}
    return render(responses.LibraryImageEnvelope.of(images.update_image(actor, image_id, **given)))


@route(library, "/v1/images/{image_id}", methods=["DELETE"])
def trash_image(image_id: str) -> Response:
    actor = images.actor_of(authenticate(library.current_request, permissions.LIBRARY_WRITE))
    return render(responses.LibraryImageEnvelope.of(images.trash_image(actor, image_id)))


@route(library, "/v1/images/{image_id}/restore", methods=["POST"])
def restore_image(image_id: str) -> Response:
    request = library.current_request
    actor = images.actor_of(authenticate(request, permissions.LIBRARY_WRITE))
    json_body(request)
    return render(responses.LibraryImageEnvelope.of(images.restore_image(actor, image_id)))


@route(library, "/v1/images/bulk", methods=["POST"])
def bulk_images() -> Response:
    request = library.current_request
    principal = authenticate(request, permissions.LIBRARY_WRITE)
    body = validate(schemas.BulkImages, json_body(request))
    actor = images.actor_of(principal)

    def run() -> Response:
        results = bulk_service.bulk(actor, body.action, body.image_ids, body.folder_id, body.tags)
        return render(responses.BulkResults.of(results))

    return idempotent(request, principal.replay_scope, run, library.lambda_context)


@route(library, "/v1/tags", methods=["GET"])
def list_tags() -> Response:
    request = library.current_request
    workspace_id = authenticate(request, permissions.LIBRARY_READ).workspace.workspace_id
    params = query_params(request)
    limit, position = page_limit(params), cursors.decode(params, "tags", workspace_id)
    after = str(position["after"]) if position and isinstance(position.get("after"), str) else None
    counts, last = images.tag_counts(workspace_id, after, limit)
    return render(responses.TagPage.of(counts, cursors.encode("tags", workspace_id, {"after": last} if last else None)))


# --- folders ----------------------------------------------------------------------------------


@route(library, "/v1/folders", methods=["POST"])
def create_folder() -> Response:
    request = library.current_request
    principal = authenticate(request, permissions.LIBRARY_WRITE)
    body = validate(schemas.FolderCreate, json_body(request))
    actor = images.actor_of(principal)

    def create() -> Response:
        return render(responses.FolderEnvelope.of(folders.create_folder(actor, body.name, body.parent_id)), 201)

    return idempotent(request, principal.replay_scope, create, library.lambda_context)


@route(library, "/v1/folders", methods=["GET"])
def list_folders() -> Response:
    request = library.current_request
    workspace_id = authenticate(request, permissions.LIBRARY_READ).workspace.workspace_id
    params = query_params(request)
    parent_id = _identifier(params, "parent_id")
    scope = f"{workspace_id}|{parent_id}"
    limit, position = page_limit(params), cursors.decode(params, "folders", scope)
    after = str(position["after"]) if position and isinstance(position.get("after"), str) else None
    found, last = folders.list_folders(workspace_id, parent_id, after, limit)
    return render(responses.FolderPage.of(found, cursors.encode("folders", scope, {"after": last} if last else None)))


@route(library, "/v1/folders/{folder_id}", methods=["GET"])
def get_folder(folder_id: str) -> Response:
    principal = authenticate(library.current_request, permissions.LIBRARY_READ)
    return render(responses.FolderEnvelope.of(folders.get_folder(principal.workspace_id, folder_id)))


@route(library, "/v1/folders/{folder_id}", methods=["PATCH"])
def update_folder(folder_id: str) -> Response:
    request = library.current_request
    actor = images.actor_of(authenticate(request, permissions.LIBRARY_WRITE))
    body = validate(schemas.FolderPatch, json_body(request))
    given = {name: getattr(body, name) for name in body.model_fields_set}
    return render(responses.FolderEnvelope.of(folders.update_folder(actor, folder_id, **given)))


@route(library, "/v1/folders/{folder_id}", methods=["DELETE"])
def delete_folder(folder_id: str) -> Response:
    request = library.current_request
    actor = images.actor_of(authenticate(request, permissions.LIBRARY_WRITE))
    folders.delete_folder(actor, folder_id, _flag(query_params(request), "recursive"))
    return no_content()


@route(library, "/v1/folders/{folder_id}/images", methods=["GET"])
def list_folder_in_order(folder_id: str) -> Response:
    """The folder's live images in the order its owner set (unplaced ones after, newest first)."""
    request = library.current_request
    workspace_id = authenticate(request, permissions.LIBRARY_READ).workspace.workspace_id
    params = known(query_params(request), ("limit", "cursor"))
    scope = f"{workspace_id}|{folder_id}"
    limit, position = page_limit(params), _order_position(cursors.decode(params, "folder-order", scope))
    rows, last = folder_order.list_in_order(workspace_id, folder_id, limit, position)
    after = {"rank": last[0], "id": last[1]} if last else None
    return render(responses.LibraryImagePage.of(rows, cursors.encode("folder-order", scope, after)))


@route(library, "/v1/folders/{folder_id}/order", methods=["PUT"])
def order_folder(folder_id: str) -> Response:
    request = library.current_request
    actor = images.actor_of(authenticate(request, permissions.LIBRARY_WRITE))
    body = validate(schemas.FolderOrder, json_body(request))
    return render(responses.BulkResults.of(folder_order.reorder(actor, folder_id, body.image_ids, body.after)))


def _order_position(position: dict[str, Any] | None) -> tuple[str, str] | None:
    if position is None:
        return None
    rank, image_id = position.get("rank"), position.get("id")
    if not isinstance(rank, str) or not isinstance(image_id, str) or not image_id.startswith("img_"):
        raise InvalidRequest("cursor is not valid", field="cursor")
    return rank, image_id


# --- uploads ----------------------------------------------------------------------------------


@route(library, "/v1/uploads", methods=["POST"])
def start_upload() -> Response:
    request = library.current_request
    principal = authenticate(request, permissions.LIBRARY_WRITE)
    body = validate(schemas.UploadCreate, json_body(request))
    actor = images.actor_of(principal)

    def start() -> Response:
        made = uploads.start_upload(actor, body.filename, body.content_type, body.bytes)
        return render(responses.UploadEnvelope.of(made), 201)

    return idempotent(request, principal.replay_scope, start, library.lambda_context)


@route(library, "/v1/uploads/{upload_id}/complete", methods=["POST"])
def complete_upload(upload_id: str) -> Response:
    request = library.current_request
    actor = images.actor_of(authenticate(request, permissions.LIBRARY_WRITE))
    json_body(request)
    return render(responses.LibraryImageEnvelope.of(uploads.complete_upload(actor, upload_id)), 201)


# --- shares -----------------------------------------------------------------------------------


@route(library, "/v1/shares", methods=["POST"])
def create_share() -> Response:
    request = library.current_request
    principal = authenticate(request, permissions.LIBRARY_MANAGE)
    body = validate(schemas.ShareCreate, json_body(request))
    expires_at = parse_time({"expires_at": body.expires_at or ""}, "expires_at")
    actor, base = images.actor_of(principal), _base_url(request)

    def create() -> Response:
        made = shares.create_share(actor, body.target.type, body.target.id, body.permission, expires_at, body.show_prompt, base)
        return render(responses.ShareEnvelope.of(made), 201)

    return idempotent(request, principal.replay_scope, create, library.lambda_context, redact=_link_shown_once)


@route(library, "/v1/shares", methods=["GET"])
def list_shares() -> Response:
    request = library.current_request
    workspace_id = authenticate(request, permissions.LIBRARY_READ).workspace.workspace_id
    params = query_params(request)
    limit, cursor = page_limit(params), cursors.decode(params, "shares", workspace_id)
    found, last = shares.list_shares(workspace_id, limit, cursor)
    return render(responses.SharePage.of(found, cursors.encode("shares", workspace_id, last)))


@route(library, "/v1/shares/{share_id}", methods=["DELETE"])
def revoke_share(share_id: str) -> Response:
    actor = images.actor_of(authenticate(library.current_request, permissions.LIBRARY_MANAGE))
    shares.revoke_share(actor, share_id)
    return no_content()


@route(library, "/s/{token}", methods=["GET"])
def open_share(token: str) -> Response:
    """Public: no key. The client address is API Gateway's (never a header the client sets)."""
    request = library.current_request
    identity = (request.context or {}).get("identity") or {}
    client = str(identity.get("sourceIp") or "unknown")
    return render(responses.PublicShareView.of(shares.open_share(token, client)))


def _base_url(request: Request) -> str:
    """Where links point: PUBLIC_BASE_URL, else the host this request came to."""
    configured = os.environ.get("PUBLIC_BASE_URL")
    if configured:
        return configured
    headers: Any = request.headers or {}
    host = str(headers.get("host") or "localhost")
    local = host.startswith(("127.0.0.1", "localhost"))
    proto = str(headers.get("x-forwarded-proto") or ("http" if local else "https"))
    return f"{proto}://{host}"


def _link_shown_once(body: dict[str, Any]) -> dict[str, Any]:
    """A replay answers the same share without its link (the token is never stored)."""
    share = {**body.get("share", {}), "url": None}
    return {**body, "share": share, "message": "replayed: the link is shown only in the first response"}


# --- parameters -------------------------------------------------------------------------------


def _identifier(params: dict[str, str], name: str) -> str | None:
    value = params.get(name) or None
    if value is not None and (len(value) > 100 or not value.replace("-", "").replace("_", "").replace(".", "").isalnum()):
        raise InvalidRequest(f"{name} is not a valid identifier", field=name)
    return value


def _flag(params: dict[str, str], name: str) -> bool:
    raw = params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidRequest(f"{name} must be true or false", field=name)
    return raw in ("true", "1")


def _image_filters(params: dict[str, str]) -> dict[str, Any]:
    """The listing's filters, each checked (400 naming the parameter)."""
    kind = params.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}", field="kind")
    q = params.get("q") or None
    if q is not None and len(q) > MAX_Q_CHARS:
        raise InvalidRequest(f"q has at most {MAX_Q_CHARS} characters", field="q")
    start, end = parse_time(params, "from"), parse_time(params, "to")
    if start and end and start > end:
        raise InvalidRequest("from must not be after to", field="from")
    tag = params.get("tag") or None
    if tag is not None and len(tag) > 100:
        raise InvalidRequest("tag has at most 40 characters", field="tag")
    return {
        "folder_id": _identifier(params, "folder_id"),
        "provider": _identifier(params, "provider"),
        "model": _identifier(params, "model"),
        "kind": kind,
        "q": q,
        "tag": tag,
        "start": start,
        "end": end,
        "trashed": _flag(params, "trashed"),
    }


def _before(position: dict[str, Any] | None) -> str | None:
    if position is None:
        return None
    before = position.get("before")
    if not isinstance(before, str) or not before.startswith("img_"):
        raise InvalidRequest("cursor is not valid", field="cursor")
    return before


# --- operators: a workspace's images and share links (admin page, workspace view) -------------


@route(library, "/admin/api/workspaces/{workspace_id}/images", methods=["GET"])
def admin_workspace_images(workspace_id: str) -> Response:
    """What its members see at GET /v1/images (same filters), hidden images included, so an
    operator can find and hide one (POST /admin/api/images/{id}/hide)."""
    request = library.current_request
    authenticate_admin(request)
    params = known(query_params(request), IMAGE_QUERY)  # operators: a misspelt filter is a 400
    limit, found = page_limit(params), images.filters_of(_image_filters(params))
    scope = f"{workspace_id}|{found.scope()}"
    before = _before(cursors.decode(params, "admin-images", scope))
    rows, last = usage.workspace_images(workspace_id, found, limit, before)
    return render(responses.LibraryImagePage.of(rows, cursors.encode("admin-images", scope, {"before": last} if last else None)))


@route(library, "/admin/api/workspaces/{workspace_id}/shares", methods=["GET"])
def admin_workspace_shares(workspace_id: str) -> Response:
    request = library.current_request
    authenticate_admin(request)
    params = known(query_params(request), ("limit", "cursor"))
    limit, cursor = page_limit(params), cursors.decode(params, "admin-shares", workspace_id)
    found, last = usage.workspace_shares(workspace_id, limit, cursor)
    return render(responses.SharePage.of(found, cursors.encode("admin-shares", workspace_id, last)))
