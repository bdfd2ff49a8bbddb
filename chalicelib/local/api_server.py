"""The local API server: chalice.local's HTTP server with the answers API Gateway leaves to us.

chalice.local fakes API Gateway closely, including what we do not want locally: an unknown route
answers 403 `{"message": "Missing Authentication Token"}` (and repeats the Authorization header,
API key included, when one is sent), an unknown method gets http.server's 501 HTML page, OPTIONS
is answered without the app, and the listen backlog is socketserver's 5 (64 concurrent clients
see connection resets). Here:

- an unknown path is 404 `not_found` in the error envelope, with `X-Request-Id`, echoing nothing;
- any method is routed to the app, so a method a path does not declare (TRACE, OPTIONS, PURGE...)
  is the app's 405 `method_not_allowed` with `Allow`; a request line that is not HTTP is a 400;
- a Content-Length that is not a number is 400, one over MAX_BODY_BYTES is 413 without reading it;
- HEAD answers carry no body; the backlog is 1024 (the kernel may cap it at somaxconn);
- port 0 binds a free port, read back from `server_address` (no bind-release-rebind race).
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.app import Chalice
from chalice.local import ChaliceRequestHandler, CustomLocalChalice, LocalChalice, LocalGateway, ThreadedHTTPServer

from chalicelib.api.http import CHALICE_ERROR_CODES, JSON_TYPE, SECURITY_HEADERS, request_id_from
from chalicelib.settings import get_settings

LISTEN_BACKLOG = 1024
_METHOD = re.compile(r"[A-Z]{1,20}")
_STOCK_MESSAGES = {
    400: "malformed HTTP request",
    408: "request timeout",
    414: "the request line is too long",
    431: "the request headers are too large",
    501: "not implemented",
    505: "HTTP version not supported",
}


def envelope(status: int, message: str, headers: Any) -> tuple[dict[str, str], bytes]:
    """Headers and body of an error answered by the server itself (the app never saw it)."""
    request_id = request_id_from({str(k).lower(): v for k, v in (headers or {}).items()})
    code = CHALICE_ERROR_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
    body = json.dumps({"error": {"code": code, "message": message, "request_id": request_id}}, separators=(",", ":"))
    return {"Content-Type": JSON_TYPE, "X-Request-Id": request_id, **SECURITY_HEADERS}, body.encode("utf-8")


class ApiGateway(LocalGateway):
    """Routes everything to the app; an unknown path is our 404, never Chalice's 403 echo."""

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        context = self._generate_lambda_context()
        try:
            event = self._generate_lambda_event(method, path, headers, body)
        except ValueError:
            error_headers, error_body = envelope(404, "no such route", headers)
            return {"statusCode": 404, "headers": error_headers, "multiValueHeaders": {}, "body": error_body}
        return self._app_object(event, context)


class ApiRequestHandler(ChaliceRequestHandler):
    """One connection; every well-formed method goes to the app, every error is enveloped."""

    default_request_version = "HTTP/1.1"  # an unparsable request line still gets a status line

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Any) -> None:
        self.local_gateway = ApiGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if not _METHOD.fullmatch(self.command):
            self._send_envelope(400, "the method is not an HTTP method token")
            return False
        if not hasattr(self, f"do_{self.command}"):  # TRACE, PURGE, ...: the app answers 405 + Allow
            setattr(self, f"do_{self.command}", self._generic_handle)
        return True

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        length = self.headers.get("content-length", "0").strip()
        if not length.isdigit():
            raise _Refused(400, "Content-Length must be a non-negative integer")
        limit = get_settings().max_body_bytes
        if int(length) > limit:
            raise _Refused(413, f"the body is larger than {limit} bytes")
        return super()._parse_payload()

    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except _Refused as refused:
            self._send_envelope(refused.status, refused.message)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, headers too large, ...) in our envelope,
        with a fixed message: theirs may quote the request line."""
        self._send_envelope(int(code), _STOCK_MESSAGES.get(int(code), "the request could not be handled"))

    def _send_envelope(self, code: int, message: str) -> None:
        headers, body = envelope(code, message, getattr(self, "headers", None))
        self.close_connection = True  # an unread body must not be taken for the next request
        self.send_response(code)
        for name, value in {**headers, "Connection": "close", "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
        if self.command == "HEAD":  # a HEAD answer has the headers of the GET, never its body
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self._send_headers(headers)
            return
        super()._send_http_response_with_body(code, headers, body)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ApiHTTPServer(ThreadedHTTPServer):
    request_queue_size = LISTEN_BACKLOG


class ApiServer:
    """The app on `host:port` (0 = any free port; `port` is the bound one once constructed)."""

    def __init__(self, app: Chalice, config: Any, host: str, port: int) -> None:
        if not isinstance(app, LocalChalice):  # as create_local_server does: thread-local current request
            CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
            app.__class__ = CustomLocalChalice

        def handler(request: Any, client_address: Any, server: Any) -> ApiRequestHandler:
            return ApiRequestHandler(request, client_address, server, app_object=app, config=config)

        self.server = ApiHTTPServer((host, port), handler)
        self.host, self.port = host, int(self.server.server_address[1])

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
