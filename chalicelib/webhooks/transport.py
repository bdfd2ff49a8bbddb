"""One HTTP POST to a checked target: short timeouts, no redirects, a small response excerpt.

It connects to the address the SSRF guard checked (TLS still verifies the certificate for the
host name), follows no redirect (a 3xx is a failed attempt, not a hop to an unchecked place) and
reads at most EXCERPT_BYTES of the answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3

from chalicelib.webhooks.ssrf import Target

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status (None when there was no HTTP answer), latency, excerpt."""

    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(target: Target, body: str, headers: dict[str, str]) -> Answer:
    """POST `body` to `target.address` (Host and TLS name: `target.host`)."""
    started = time.perf_counter()
    pool = _pool(target)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers={
                **headers,
                "Host": target.host_header,
                "Content-Type": "application/json",
                "User-Agent": "imagegen-webhooks/1",
            },
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=False).decode("utf-8", "replace")
        finally:
            response.release_conn()
            response.close()
    except urllib3.exceptions.HTTPError as error:
        return Answer(None, _ms(started), None, type(error).__name__)
    finally:
        pool.close()
    return Answer(int(response.status), _ms(started), excerpt)


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
    address = target.address or target.host
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            maxsize=1,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, maxsize=1)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
