"""GET /openapi.json (the OpenAPI 3.1 document, generated from the code) and GET /docs (it,
rendered by the vendored Swagger UI: offline, same-origin assets only, strict CSP)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.errors import NotFound
from chalicelib.api.http import json_response
from chalicelib.api.routing import route

docs = Blueprint(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "apidocs" / "static"
TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Scripts, styles, fetches and images from this origin only (Swagger UI draws its icons as data:
# SVGs); no inline script or style element, no plugins, never in a frame.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """Built once per container from the app's own routes and models."""
    import app as chalice_app
    from chalicelib.api.openapi import build_openapi
    from chalicelib.settings import get_settings

    return build_openapi(chalice_app.app, version=get_settings().version)


@route(docs, "/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return json_response(document(), 200, {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})


@route(docs, "/docs", methods=["GET"])
def reference() -> Response:
    """The API reference, rendered in the browser from /openapi.json."""
    html = (ASSETS / "index.html").read_text(encoding="utf-8")
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": CSP,
    }
    return Response(body=html, status_code=200, headers=headers)


@lru_cache(maxsize=1)
def _asset_names() -> frozenset[str]:
    """The files that may be served, listed once (a name is looked up here, never opened as given)."""
    return frozenset(p.name for p in ASSETS.iterdir() if p.is_file() and p.suffix in TYPES)


@route(docs, "/docs/assets/{name}", methods=["GET"])
def reference_asset(name: str) -> Response:
    """The renderer's script and styles."""
    if name not in _asset_names():
        raise NotFound("no such asset")
    path = ASSETS / name
    return Response(
        body=path.read_text(encoding="utf-8"),
        status_code=200,
        headers={"Content-Type": TYPES[path.suffix], "Cache-Control": "public, max-age=3600"},
    )
