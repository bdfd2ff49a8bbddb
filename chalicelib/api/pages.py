"""GET /admin: the operators' dashboard page (static HTML/JS/CSS shipped in chalicelib/admin)."""

from __future__ import annotations

from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.errors import NotFound

pages = Blueprint(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "admin" / "static"
TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml"}


@pages.route("/admin", methods=["GET"])
def dashboard() -> Response:
    html = (ASSETS / "index.html").read_text(encoding="utf-8")
    return Response(body=html, status_code=200, headers={
        "Content-Type": TYPES[".html"],
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob: http: https:; style-src 'self'",
    })


@pages.route("/admin/assets/{name}", methods=["GET"])
def asset(name: str) -> Response:
    path = (ASSETS / name).resolve()
    if path.parent != ASSETS or not path.is_file() or path.suffix not in TYPES:
        raise NotFound("no such asset")
    return Response(body=path.read_text(encoding="utf-8"), status_code=200,
                    headers={"Content-Type": TYPES[path.suffix], "Cache-Control": "public, max-age=300"})
