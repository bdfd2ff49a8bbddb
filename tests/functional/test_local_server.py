"""The local API server over real sockets: what the app never sees still gets our envelope, no
answer echoes a header, and 64 clients connecting at once are all served."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

API_KEY_HEADER = "Bearer sk_test_this_must_never_come_back_0123456789"


@pytest.fixture(scope="module")
def server(aws) -> Iterator[str]:
    """The app behind chalicelib.local.api_server on port 0, in this process."""
    import os

    from chalice.config import Config

    import app as chalice_app
    from chalicelib.local.api_server import ApiServer

    config = Config.create(chalice_stage="local", app_name="imagegen", project_dir=os.getcwd())
    api = ApiServer(chalice_app.app, config, "127.0.0.1", 0)
    assert api.port != 0
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{api.port}"
    api.stop()


def raw(address: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; parse the one answer (status, headers, body)."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _envelope(status: int, headers: dict[str, str], body: bytes, code: str) -> dict[str, Any]:
    error = json.loads(body)["error"]
    assert error["code"] == code, error
    assert error["request_id"] == headers["x-request-id"]
    assert headers["content-type"].startswith("application/json") and headers["x-content-type-options"] == "nosniff"
    return error


@pytest.mark.parametrize("path", ["/nope", "/v1/jobs/x/y/z", "/v2/jobs", "/admin/api", "/%2e%2e/etc/passwd"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "TRACE"])
def test_unknown_routes_are_404_in_the_envelope_and_echo_no_header(server, method, path):
    response = requests.request(
        method,
        f"http://{server}{path}",
        timeout=10,
        headers={"Authorization": API_KEY_HEADER, "X-Api-Key": "sk_test_other_header"},
    )
    assert response.status_code == 404
    _envelope(404, {k.lower(): v for k, v in response.headers.items()}, response.content, "not_found")
    assert b"sk_test_" not in response.content and b"Authentication Token" not in response.content
    assert not any("sk_test_" in v for v in response.headers.values())


def test_a_well_formed_request_id_is_echoed_on_a_404(server):
    response = requests.get(f"http://{server}/nope", headers={"X-Request-Id": "client-req-42"}, timeout=10)
    assert response.status_code == 404 and response.headers["X-Request-Id"] == "client-req-42"
    assert response.json()["error"]["request_id"] == "client-req-42"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/healthz", {"GET"}),
        ("OPTIONS", "/v1/jobs", {"GET", "POST"}),
        ("PURGE", "/v1/me", {"GET", "PATCH"}),
        ("CONNECT", "/v1/keys", {"GET", "POST"}),
        ("DELETE", "/healthz", {"GET"}),
        ("PATCH", "/admin", {"GET", "POST"}),
    ],
)
def test_methods_a_path_does_not_declare_are_405_with_allow(server, method, path, allow):
    status, headers, body = raw(server, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status == 405
    _envelope(status, headers, body, "method_not_allowed")
    assert {m.strip() for m in headers["allow"].split(",")} == allow


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "invalid_request"),
        (b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid_request"),
        (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505, "internal_error"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "invalid_request"),
        (b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}", 400, "invalid_request"),
        (b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}", 400, "invalid_request"),
        (b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}", 413, "payload_too_large"),
    ],
)
def test_what_http_server_refuses_is_in_the_envelope_too(server, request_bytes, status, code):
    got, headers, body = raw(server, request_bytes)
    assert got == status
    error = _envelope(got, headers, body, code)
    assert "GARBAGE" not in error["message"] and "aaaa" not in error["message"]


def test_head_answers_have_no_body(server):
    status, headers, body = raw(server, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 405 and body == b"" and int(headers["content-length"]) > 0


def test_64_concurrent_clients_are_all_served(server):
    """The listen backlog is 1024, not socketserver's 5: no connection is reset or refused. With a
    full backlog the kernel drops a SYN (the client retries after 1 s) or resets: a connect
    timeout under 1 s sees either; with room in the backlog the kernel completes every handshake
    at once, however busy the server."""
    barrier = threading.Barrier(64)
    statuses: list[int] = []
    failures: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            statuses.append(requests.get(f"http://{server}/healthz", timeout=(0.75, 60)).status_code)
        except requests.RequestException as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and statuses == [200] * 64


@pytest.mark.parametrize("name", ["%F0%9D%95%BF" * 100, "a" * 300, "..%2F..%2Fapp.py", "%2e%2e"])
def test_asset_names_found_by_the_fuzzer_are_404_over_http(server, name):
    response = requests.get(f"http://{server}/admin/assets/{name}", timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
