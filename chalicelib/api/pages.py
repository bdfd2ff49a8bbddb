"""GET /admin: the operators' dashboard page (static HTML/JS/CSS shipped in chalicelib/admin)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chalice.app import Blueprint, Response

from chalicelib.api.errors import NotFound
from chalicelib.api.routing import route

pages = Blueprint(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "admin" / "static"
TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}


# Scripts, styles and fetches from this origin only; images also from data:/blob: (Chart.js
# exports); no plugins, no <base> rewriting, forms post only here, and never inside a frame.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@route(pages, "/admin", methods=["GET"])
def dashboard() -> Response:
    html = (ASSETS / "index.html").read_text(encoding="utf-8")
    return Response(
        body=html,
        status_code=200,
        headers={
            "Content-Type": TYPES[".html"],
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


@route(
    pages,
    "/admin",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "application/json"],
)
def dashboard_form_post() -> Response:
    """Where the sign-in form lands when JavaScript did not handle it: the key field has no
    `name`, so nothing was sent; back to the page (303), nothing read, nothing kept."""
    return Response(body="", status_code=303, headers={"Location": "/admin", "Cache-Control": "no-store"})


@lru_cache(maxsize=1)
def _asset_names() -> frozenset[str]:
    """The files that may be served, listed once: a requested name is looked up here, never
    handed to the filesystem (a 300-character name once made is_file() raise ENAMETOOLONG)."""
    return frozenset(p.name for p in ASSETS.iterdir() if p.is_file() and p.suffix in TYPES)


@route(pages, "/admin/assets/{name}", methods=["GET"])
def asset(name: str) -> Response:
    if name not in _asset_names():
        raise NotFound("no such asset")
    path = ASSETS / name
    return Response(
        body=path.read_text(encoding="utf-8"),
        status_code=200,
        headers={"Content-Type": TYPES[path.suffix], "Cache-Control": "public, max-age=300"},
    )
