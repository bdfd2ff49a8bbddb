"""A local stand-in for Expo's push service, speaking its wire format on loopback.

- `POST /--/api/v2/push/send`: a JSON list of messages (or one message) → `{"data": [ticket]}`,
  one ticket per message in order: `{"status": "ok", "id"}`, or for a token Expo no longer knows
  (`gone`) `{"status": "error", "message", "details": {"error": "DeviceNotRegistered"}}`. A body
  that is not messages answers 400 `{"errors": [{"code", "message"}]}` as Expo does.
- `POST /--/api/v2/push/getReceipts` `{"ids": [...]}` → `{"data": {id: receipt}}`: `{"status":
  "ok"}`, or the `DeviceNotRegistered` error for a token marked `dead` (Apple or Google said so
  after the ticket); ids without a receipt yet (`hold_receipts`) or unknown are left out.
- `GET /_fake/messages` → `{"data": [message...]}`: what was sent (to look at in the local stack).

Tokens whose inside starts with `dead` are dead from the start (a way to try pruning by hand).
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SEND = "/--/api/v2/push/send"
RECEIPTS = "/--/api/v2/push/getReceipts"
NOT_REGISTERED = {"error": "DeviceNotRegistered"}


class FakeExpo:
    """The fake's state: messages sent, tickets by id, tokens marked gone or dead."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.tickets: dict[str, str] = {}  # ticket id -> token
        self.gone: set[str] = set()
        self.dead: set[str] = set()
        self.hold_receipts = False
        self.receipt_requests: list[list[str]] = []
        self.fail_next = 0  # answer 503 to this many sends (a push service outage)
        self._lock = threading.Lock()
        self._server: Any = None
        self.base_url = ""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = make_server(host, port, self, threaded=True)
        self.base_url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="fake-expo", daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        status, body = self.handle(request)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.method == "POST" and request.path == SEND:
            return self._send(request)
        if request.method == "POST" and request.path == RECEIPTS:
            return self._receipts(request)
        if request.method == "GET" and request.path == "/_fake/messages":
            with self._lock:
                return 200, {"data": list(self.sent)}
        return 404, {"errors": [{"code": "NOT_FOUND", "message": f"no route {request.method} {request.path}"}]}

    @staticmethod
    def _error(message: str) -> tuple[int, dict[str, Any]]:
        return 400, {"errors": [{"code": "VALIDATION_ERROR", "message": message}]}

    def _send(self, request: Request) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return self._error("the body is not JSON")
        messages = body if isinstance(body, list) else [body]
        if not messages or not all(isinstance(m, dict) and isinstance(m.get("to"), str) for m in messages):
            return self._error('"to" is required in every message')
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"errors": [{"code": "INTERNAL_SERVER_ERROR", "message": "try again"}]}
            return 200, {"data": [self._ticket(message) for message in messages]}

    def _ticket(self, message: dict[str, Any]) -> dict[str, Any]:
        token = str(message["to"])
        if not token.startswith(("ExponentPushToken[", "ExpoPushToken[")) or token in self.gone:
            return {"status": "error", "message": f'"{token}" is not a registered push notification recipient',
                    "details": NOT_REGISTERED}  # fmt: skip
        self.sent.append(message)
        ticket_id = str(uuid.uuid4())
        self.tickets[ticket_id] = token
        return {"status": "ok", "id": ticket_id}

    def _receipts(self, request: Request) -> tuple[int, dict[str, Any]]:
        try:
            ids = json.loads(request.get_data() or b"{}").get("ids")
        except (ValueError, AttributeError):
            return self._error("the body is not JSON")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return self._error('"ids" must be a list of ticket ids')
        with self._lock:
            self.receipt_requests.append(list(ids))
            if self.hold_receipts:
                return 200, {"data": {}}
            return 200, {"data": {i: self._receipt(self.tickets[i]) for i in ids if i in self.tickets}}

    def _receipt(self, token: str) -> dict[str, Any]:
        if token in self.dead or token.split("[", 1)[-1].startswith("dead"):
            return {"status": "error", "message": "The device cannot receive push notifications anymore",
                    "details": NOT_REGISTERED}  # fmt: skip
        return {"status": "ok"}
