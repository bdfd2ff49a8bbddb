"""The public gallery (no key; rate-limited per client address; cacheable) and its moderation
by platform admins (API.md "Templates, collections, gallery").

- `GET /v1/gallery`, `GET /v1/gallery/collections[/{id}]`: `Cache-Control: public, max-age=30`
  and a weak `ETag` over what the page shows (not its presigned URLs, which change at every
  signing; the tag also changes every half URL lifetime, so a 304 never revives expired URLs).
  `If-None-Match` with the current tag answers 304 with no body.
- Every public answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`; past
  the limit, 429 `rate_limited` with `scope: "client"` and `Retry-After`.
- The client address is API Gateway's (`requestContext.identity.sourceIp`), never a header the
  client sets.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from chalice.app import Request, Response

from chalicelib import clock
from chalicelib.api import cursors
from chalicelib.api.collections import before_id, offset_of
from chalicelib.api.errors import InvalidRequest
from chalicelib.api.http import authenticate_admin, json_body, json_response, page_limit, query_params, validate
from chalicelib.api.idempotency import idempotent
from chalicelib.api.params import known, parse_time
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    import chalicelib.api.responses as responses
    import chalicelib.api.schemas as schemas
    import chalicelib.gallery.collections as collections
    import chalicelib.gallery.feedback as feedback
    import chalicelib.gallery.listing as listing
    import chalicelib.gallery.moderation as moderation
    import chalicelib.gallery.public as public
    import chalicelib.gallery.rules as rules
    import chalicelib.library.rules as library_rules
else:
    responses = lazy_module("chalicelib.api.responses")
    schemas = lazy_module("chalicelib.api.schemas")
    collections = lazy_module("chalicelib.gallery.collections")
    feedback = lazy_module("chalicelib.gallery.feedback")
    listing = lazy_module("chalicelib.gallery.listing")
    moderation = lazy_module("chalicelib.gallery.moderation")
    rules = lazy_module("chalicelib.gallery.rules")
    library_rules = lazy_module("chalicelib.library.rules")

gallery = Blueprint(__name__)

GALLERY_PARAMETERS = ("q", "tag", "provider", "model", "sort", "from", "to", "limit", "cursor")
PAGE_PARAMETERS = ("limit", "cursor")
MAX_AGE_S = 30
MAX_Q_CHARS = 200
URL_FIELDS = frozenset({"url", "preview_url"})


@route(gallery, "/v1/gallery", methods=["GET"])
def list_gallery() -> Response:
    """Published images, newest first or most liked first; no key needed."""
    request = gallery.current_request
    params = known(query_params(request), GALLERY_PARAMETERS)
    query = gallery_query(params)
    scope = f"gallery|{query.scope()}"
    before = sort_key(cursors.decode(params, "gallery", scope))
    metered = listing.list_gallery(query, page_limit(params), before, client_address(request))
    found, last = metered.value
    page = responses.GalleryPage.of(found, cursors.encode("gallery", scope, {"before": last} if last else None))
    return cached(request, page, metered.window)


@route(gallery, "/v1/gallery/collections", methods=["GET"])
def list_public_collections() -> Response:
    """Public collections of every workspace, newest first; no key needed."""
    request = gallery.current_request
    params = known(query_params(request), PAGE_PARAMETERS)
    before = before_id(cursors.decode(params, "gallery.collections", "public"), "col_")
    metered = collections.public_collections(client_address(request), before, page_limit(params))
    found, last = metered.value
    next_cursor = cursors.encode("gallery.collections", "public", {"before": last} if last else None)
    page = responses.PublicCollectionPage.of(found, next_cursor)
    return cached(request, page, metered.window)


@route(gallery, "/v1/gallery/collections/{collection_id}", methods=["GET"])
def get_public_collection(collection_id: str) -> Response:
    """An unlisted or public collection and its items in order; a private one is 404."""
    request = gallery.current_request
    params = known(query_params(request), PAGE_PARAMETERS)
    offset = offset_of(cursors.decode(params, "gallery.collection", collection_id))
    metered = collections.public_collection(collection_id, client_address(request), offset, page_limit(params))
    after = metered.value.next_offset
    page = responses.PublicCollectionView.of(
        metered.value, cursors.encode("gallery.collection", collection_id, {"offset": after} if after is not None else None)
    )
    return cached(request, page, metered.window)


@route(gallery, "/v1/gallery/reports", methods=["POST"])
def report_image() -> Response:
    """Report a gallery image; one client's reports of one image count once."""
    request = gallery.current_request
    body = validate(schemas.ReportCreate, json_body(request))
    metered = feedback.report(body.image_id, body.reason, body.note, client_address(request))
    return render(responses.ReportReceipt.of(metered.value), 201, metered.window.headers())


@route(gallery, "/v1/gallery/images/{image_id}/like", methods=["POST"])
def like_image(image_id: str) -> Response:
    """Like a gallery image (what `sort=top` ranks by); one client's likes of one image count once."""
    request = gallery.current_request
    json_body(request)
    metered = feedback.like(image_id, client_address(request))
    return render(responses.LikeResult.of(metered.value), 200, metered.window.headers())


# --- moderation (platform admins) -------------------------------------------------------------


@route(gallery, "/admin/api/reports", methods=["GET"])
def list_reports() -> Response:
    """Report cases of one status (`open` by default), the most recently reported first."""
    request = gallery.current_request
    caller = authenticate_admin(request)
    params = known(query_params(request), ("status", *PAGE_PARAMETERS))
    status = params.get("status") or "open"
    if status not in rules.REPORT_STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(rules.REPORT_STATUSES)}", field="status")
    scope = f"{caller.workspace_id}|{status}"
    before = before_id(cursors.decode(params, "admin.reports", scope), "rpt_")
    found, last = moderation.list_reports(status, page_limit(params), before)
    return render(responses.ReportCasePage.of(found, cursors.encode("admin.reports", scope, {"before": last} if last else None)))


@route(gallery, "/admin/api/images/{image_id}/hide", methods=["POST"])
def hide_image(image_id: str) -> Response:
    """Hide an image from the gallery, collections and share links (audited; idempotent)."""
    request = gallery.current_request
    caller = authenticate_admin(request)
    body = validate(schemas.HideImage, json_body(request))

    def hide() -> Response:
        return render(responses.HiddenImage.of(moderation.hide_image(image_id, body.workspace_id, caller.user_id, body.reason)))

    return idempotent(request, caller.user_id, hide, gallery.lambda_context)


@route(gallery, "/admin/api/reports/{image_id}/dismiss", methods=["POST"])
def dismiss_report(image_id: str) -> Response:
    """Close an open report case without hiding the image (audited)."""
    request = gallery.current_request
    caller = authenticate_admin(request)
    body = validate(schemas.DismissReport, json_body(request))
    return render(responses.ReportCaseView.of(moderation.dismiss_report(image_id, caller.user_id, body.reason)))


# --- parsing and caching ----------------------------------------------------------------------


def client_address(request: Request) -> str:
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def _identifier(params: dict[str, str], name: str) -> str | None:
    value = params.get(name) or None
    if value is not None and (len(value) > 100 or not value.replace("-", "").replace("_", "").replace(".", "").isalnum()):
        raise InvalidRequest(f"{name} is not a valid identifier", field=name)
    return value


def gallery_query(params: dict[str, str]) -> rules.Query:
    """`sort` (new, top), `q` (1-5 searchable words, all must match), `tag`, `provider`, `model`,
    `from`/`to` (published between, inclusive)."""
    sort = params.get("sort") or "new"
    if sort not in ("new", "top"):
        raise InvalidRequest("sort must be new or top", field="sort")
    text = params.get("q") or ""
    words = tuple(library_rules.words_of(text))
    if len(text) > MAX_Q_CHARS or len(words) > rules.MAX_QUERY_WORDS or (text and not words):
        raise InvalidRequest(
            f"q: 1-{rules.MAX_QUERY_WORDS} words of 2-32 letters or digits (not a stop word), {MAX_Q_CHARS} characters at most",
            field="q",
        )
    tag = params.get("tag") or None
    if tag is not None:
        try:
            tag = library_rules.normalise_tag(tag)
        except library_rules.RuleError as error:
            raise InvalidRequest(f"tag: {error}", field="tag") from None
    start, end = parse_time(params, "from"), parse_time(params, "to")
    if start and end and start > end:
        raise InvalidRequest("from must not be after to", field="from")
    return rules.Query(sort, words, tag, _identifier(params, "provider"), _identifier(params, "model"), start, end)


def sort_key(position: dict[str, Any] | None) -> str | None:
    if position is None:
        return None
    before = position.get("before")
    if not isinstance(before, str) or not before:
        raise InvalidRequest("cursor is not valid: pass next_cursor of the same listing unchanged", field="cursor")
    return before


def _without_urls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_urls(v) for k, v in value.items() if k not in URL_FIELDS}
    if isinstance(value, list):
        return [_without_urls(v) for v in value]
    return value


def etag_of(data: dict[str, Any]) -> str:
    """A weak tag of what the page shows, renewed every half URL lifetime."""
    period = int(clock.now().timestamp()) // max(1, get_settings().presign_expiry_s // 2)
    digest = hashlib.sha256(json.dumps([period, _without_urls(data)], sort_keys=True).encode("utf-8")).hexdigest()
    return f'W/"{digest[:32]}"'


def cached(request: Request, body: BaseModel, window: public.Window) -> Response:
    """The answer with its cache headers; 304 when the client's copy is still the page."""
    data = body.model_dump(mode="json")
    tag = etag_of(data)
    headers: dict[str, str | list[str]] = {"Cache-Control": f"public, max-age={MAX_AGE_S}", "ETag": tag, **window.headers()}
    sent: Any = request.headers or {}
    given = str(sent.get("if-none-match") or "")
    if tag in {t.strip() for t in given.split(",")}:
        return Response(body="", status_code=304, headers=headers)
    return json_response(data, 200, headers)
