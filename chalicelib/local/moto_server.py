"""moto's server on loopback with its request handling serialized by one lock.

moto's backends are not atomic under concurrent requests, while DynamoDB's conditional
writes and transactions are. Holding one lock per request (response included) makes each
call atomic as on AWS, so a concurrency test that overspends has found our bug, not moto's.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from typing import Any, Callable, Iterable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
TOKEN_WINDOW_S = 600.0


class TransactionTokens:
    """DynamoDB's `ClientRequestToken` idempotency, which moto does not implement.

    For 10 minutes after a TransactWriteItems with a token succeeded, the same token with the
    same request answers success again without applying it; with another request it answers
    IdempotentParameterMismatchException. The accounting adapter relies on this to retry a
    transaction whose answer was lost (a read timeout) without applying it twice.
    """

    def __init__(self) -> None:
        self._done: dict[str, tuple[float, str]] = {}

    def check(self, body: bytes) -> tuple[str | None, str, bytes | None]:
        """(token, body hash, a canned answer if this token was already applied)."""
        try:
            token = json.loads(body).get("ClientRequestToken")
        except (ValueError, AttributeError):
            return None, "", None
        digest = hashlib.sha256(body).hexdigest()
        now = time.monotonic()
        self._done = {k: v for k, v in self._done.items() if now - v[0] < TOKEN_WINDOW_S}
        seen = self._done.get(token) if isinstance(token, str) else None
        if seen is None:
            return token if isinstance(token, str) else None, digest, None
        if seen[1] != digest:
            return (
                token,
                digest,
                json.dumps(
                    {
                        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                        "message": "the request uses the same client token as a previous, but non-identical request",
                    }
                ).encode(),
            )
        return token, digest, b"{}"

    def applied(self, token: str, digest: str) -> None:
        self._done[token] = (time.monotonic(), digest)


class LockStats:
    """Time requests spent waiting for the one lock, and holding it (benchmarks: how much of a
    figure is moto serving one request at a time rather than our code)."""

    def __init__(self) -> None:
        self.waited_s = 0.0
        self.held_s = 0.0
        self.requests = 0

    def reset(self) -> None:
        self.waited_s, self.held_s, self.requests = 0.0, 0.0, 0


LOCK_STATS = LockStats()  # of the servers running in this process


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    lock = threading.Lock()
    tokens = TransactionTokens()

    def run(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def transact(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        token, digest, canned = tokens.check(body)
        if canned is not None:
            status = "200 OK" if canned == b"{}" else "400 Bad Request"
            start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(canned)))])
            return [canned]
        seen: list[str] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen.append(status)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        out = run(environ, capture)
        if token and seen and seen[0].startswith("200"):
            tokens.applied(token, digest)
        return out

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        arrived = time.perf_counter()
        with lock:
            entered = time.perf_counter()
            try:
                if environ.get("HTTP_X_AMZ_TARGET") == TRANSACT_WRITE:
                    return transact(environ, start_response)
                return run(environ, start_response)
            finally:
                LOCK_STATS.waited_s += entered - arrived
                LOCK_STATS.held_s += time.perf_counter() - entered
                LOCK_STATS.requests += 1

    return handle


class QuietRequestHandler(MotoRequestHandler):
    """No access log line per AWS call (the app's own JSON logs say what happened)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SerializedMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app runs one request at a time. Port 0 binds a free port
    (no bind-release-rebind race); `port` then tells which."""

    @property
    def port(self) -> int:
        return int(self._port)

    def _server_entry(self) -> None:
        app = serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietRequestHandler)
        self._port = self._server.server_port  # the real one when asked for port 0
        self._server_ready_event.set()
        self._server.serve_forever()


def serve_forever(host: str, port: int) -> None:
    """Run the serialized server in this process until killed (`python -m chalicelib.local.moto_server`)."""
    import signal

    server = SerializedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    # Benchmarks read the lock's figures from another process: SIGUSR1 prints them as one JSON
    # line on stdout, SIGUSR2 zeroes them.
    signal.signal(signal.SIGUSR1, lambda *_: print(json.dumps(vars(LOCK_STATS)), flush=True))
    signal.signal(signal.SIGUSR2, lambda *_: LOCK_STATS.reset())
    print(f"moto listening on http://{host}:{server.port}", flush=True)
    forever = threading.Event()
    while not forever.wait(0.25):  # timed: the signal handlers above run even when the kernel hands
        pass  # the signal to a server thread (an untimed wait would never return to run them)


if __name__ == "__main__":
    import sys

    serve_forever("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
