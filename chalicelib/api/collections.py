"""/v1/collections and /v1/images/{id}/publish|unpublish: a workspace's albums and what it shows
in the public gallery (API.md "Templates, collections, gallery").

Each route parses (auth, body, params), makes one call to a `chalicelib.gallery` service and
renders a response model. Reading needs `library:read`, editing `library:write` (another member's
collection, a public or unlisted one, and publishing: `library:manage`, checked by the service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api import cursors
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate, json_body, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.params import known
from chalicelib.api.routing import no_content, render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.gallery.collections as service
    import chalicelib.gallery.publishing as publishing
    import chalicelib.library.images as images
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    service = lazy_module("chalicelib.gallery.collections")
    publishing = lazy_module("chalicelib.gallery.publishing")
    images = lazy_module("chalicelib.library.images")

collections = Blueprint(__name__)

PAGE_PARAMETERS = ("limit", "cursor")
MAX_OFFSET = 1000  # gallery.rules.MAX_ITEMS


@route(collections, "/v1/collections", methods=["POST"])
def create_collection() -> Response:
    request = collections.current_request
    principal = authenticate(request, permissions.COLLECTIONS_WRITE)
    body = validate(schemas.CollectionCreate, json_body(request))
    actor = images.actor_of(principal)

    def create() -> Response:
        made = service.create_collection(actor, body.name, body.description, body.visibility)
        return render(responses.CollectionEnvelope.of(made), 201)

    return idempotent(request, principal.replay_scope, create, collections.lambda_context)


@route(collections, "/v1/collections", methods=["GET"])
def list_collections() -> Response:
    request = collections.current_request
    workspace_id = authenticate(request, permissions.COLLECTIONS_READ).workspace_id
    params = known(query_params(request), PAGE_PARAMETERS)
    before = before_id(cursors.decode(params, "collections", workspace_id), "col_")
    found, last = service.list_collections(workspace_id, page_limit(params), before)
    next_cursor = cursors.encode("collections", workspace_id, {"before": last} if last else None)
    return render(responses.CollectionPage.of(found, next_cursor))


@route(collections, "/v1/collections/{collection_id}", methods=["GET"])
def get_collection(collection_id: str) -> Response:
    request = collections.current_request
    principal = authenticate(request, permissions.COLLECTIONS_READ)
    known(query_params(request), ())
    return render(responses.CollectionEnvelope.of(service.get_collection(principal.workspace_id, collection_id)))


@route(collections, "/v1/collections/{collection_id}", methods=["PATCH"])
def update_collection(collection_id: str) -> Response:
    request = collections.current_request
    actor = images.actor_of(authenticate(request, permissions.COLLECTIONS_WRITE))
    body = validate(schemas.CollectionPatch, json_body(request))
    given = {name: getattr(body, name) for name in body.model_fields_set}
    return render(responses.CollectionEnvelope.of(service.update_collection(actor, collection_id, **given)))


@route(collections, "/v1/collections/{collection_id}", methods=["DELETE"])
def delete_collection(collection_id: str) -> Response:
    actor = images.actor_of(authenticate(collections.current_request, permissions.COLLECTIONS_WRITE))
    service.delete_collection(actor, collection_id)
    return no_content()


@route(collections, "/v1/collections/{collection_id}/items", methods=["GET"])
def list_items(collection_id: str) -> Response:
    request = collections.current_request
    workspace_id = authenticate(request, permissions.COLLECTIONS_READ).workspace_id
    params = known(query_params(request), PAGE_PARAMETERS)
    scope = f"{workspace_id}|{collection_id}"
    offset = offset_of(cursors.decode(params, "collection_items", scope))
    found, after = service.list_items(workspace_id, collection_id, offset, page_limit(params))
    next_cursor = cursors.encode("collection_items", scope, {"offset": after} if after is not None else None)
    return render(responses.CollectionItemPage.of(found, next_cursor))


@route(collections, "/v1/collections/{collection_id}/items", methods=["POST"])
def add_items(collection_id: str) -> Response:
    request = collections.current_request
    principal = authenticate(request, permissions.COLLECTIONS_WRITE)
    body = validate(schemas.CollectionItems, json_body(request))
    actor = images.actor_of(principal)

    def add() -> Response:
        collection, results = service.add_items(actor, collection_id, body.image_ids)
        return render(responses.CollectionItemsAdded.of(collection, results))

    return idempotent(request, principal.replay_scope, add, collections.lambda_context)


@route(collections, "/v1/collections/{collection_id}/items/{image_id}", methods=["DELETE"])
def remove_item(collection_id: str, image_id: str) -> Response:
    actor = images.actor_of(authenticate(collections.current_request, permissions.COLLECTIONS_WRITE))
    service.remove_item(actor, collection_id, image_id)
    return no_content()


@route(collections, "/v1/collections/{collection_id}/order", methods=["PUT"])
def reorder(collection_id: str) -> Response:
    request = collections.current_request
    actor = images.actor_of(authenticate(request, permissions.COLLECTIONS_WRITE))
    body = validate(schemas.CollectionOrder, json_body(request))
    return render(responses.CollectionEnvelope.of(service.reorder(actor, collection_id, body.image_ids)))


# --- the gallery: publishing ------------------------------------------------------------------


@route(collections, "/v1/images/{image_id}/publish", methods=["POST"])
def publish(image_id: str) -> Response:
    request = collections.current_request
    actor = images.actor_of(authenticate(request, permissions.GALLERY_PUBLISH))
    json_body(request)
    return render(responses.LibraryImageEnvelope.of(publishing.publish(actor, image_id)))


@route(collections, "/v1/images/{image_id}/unpublish", methods=["POST"])
def unpublish(image_id: str) -> Response:
    request = collections.current_request
    actor = images.actor_of(authenticate(request, permissions.GALLERY_PUBLISH))
    json_body(request)
    return render(responses.LibraryImageEnvelope.of(publishing.unpublish(actor, image_id)))


# --- cursor positions (signed: issued by the same listing, so only their type is checked) ------


def before_id(position: dict[str, Any] | None, prefix: str) -> str | None:
    if position is None:
        return None
    before = position.get("before")
    if not isinstance(before, str) or not before.startswith(prefix):
        raise InvalidRequest("cursor is not valid: pass next_cursor of the same listing unchanged", field="cursor")
    return before


def offset_of(position: dict[str, Any] | None) -> int:
    if position is None:
        return 0
    offset = position.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequest("cursor is not valid: pass next_cursor of the same listing unchanged", field="cursor")
    return offset
