"""moto's server on loopback with its request handling serialized by one lock.

moto's backends are not atomic under concurrent requests, while DynamoDB's conditional
writes and transactions are. Holding one lock per request (response included) makes each
call atomic as on AWS, so a concurrency test that overspends has found our bug, not moto's.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    lock = threading.Lock()

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return handle


class QuietRequestHandler(MotoRequestHandler):
    """No access log line per AWS call (the app's own JSON logs say what happened)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SerializedMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app runs one request at a time."""

    def _server_entry(self) -> None:
        app = serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def serve_forever(host: str, port: int) -> None:
    """Run the serialized server in this process until killed (`python -m chalicelib.local.moto_server`)."""
    server = SerializedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(f"moto listening on http://{host}:{port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    import sys

    serve_forever("127.0.0.1", int(sys.argv[1]))
