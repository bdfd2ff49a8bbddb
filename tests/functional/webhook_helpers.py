"""A webhook receiver on loopback and a driver for the webhooks queue, for the webhook tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.local.lambda_events import LocalContext
from chalicelib.settings import get_settings
from tests.functional.helpers import event_from, receive


@dataclass
class Receiver:
    """Records every request; answers the statuses in `answers` in turn (then 200)."""

    answers: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def next_status(self) -> int:
        return self.answers.pop(0) if self.answers else 200

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """The bodies whose signature verifies with `secret` (the reference library)."""
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        good = []
        for r in self.requests:
            try:
                good.append(Webhook(secret).verify(r["body"], r["headers"]))
            except WebhookVerificationError:
                pass
        return good


@contextmanager
def receiver(answers: list[int] | None = None) -> Iterator[Receiver]:
    state = Receiver(answers=list(answers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            state.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            status = state.next_status()
            payload = json.dumps({"received": True, "pad": "x" * 5000}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def webhook_messages() -> list[dict[str, Any]]:
    """Everything visible on the webhooks queue now, taken off it (delayed ones are not visible)."""
    from chalicelib.aws import client, queue_url

    name = get_settings().webhooks_queue_name
    out: list[dict[str, Any]] = []
    while batch := receive(10, name):
        out += batch
        for m in batch:
            client("sqs").delete_message(QueueUrl=queue_url(name), ReceiptHandle=m["ReceiptHandle"])
    return out


@dataclass
class CapturedQueue:
    """Stands in for `webhooks.queue.send`: keeps (message, delay) so a test can play time."""

    sent: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def send(self, message: dict[str, Any], delay_s: int = 0) -> None:
        from chalicelib.webhooks.queue import MAX_DELAY_S

        self.sent.append((message, max(0, min(MAX_DELAY_S, int(delay_s)))))

    def take(self) -> list[tuple[dict[str, Any], int]]:
        taken, self.sent = self.sent, []
        return taken


def as_sqs(bodies_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`receive_message` output carrying these bodies (for the worker's event shape)."""
    return [
        {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": json.dumps(b), "Attributes": {"ApproximateReceiveCount": "1"}}
        for n, b in enumerate(bodies_)
    ]


def run_webhooks_worker(messages: list[dict[str, Any]]) -> dict[str, Any]:
    import app as chalice_app

    name = get_settings().webhooks_queue_name
    return dict(chalice_app.webhooks_worker(event_from(messages, name), LocalContext("webhooks_worker", 60)))


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in messages]


def drain_webhooks(rounds: int = 5) -> list[dict[str, Any]]:
    """Run the worker on the visible messages until none are left; returns what it consumed."""
    seen: list[dict[str, Any]] = []
    for _ in range(rounds):
        messages = webhook_messages()
        if not messages:
            break
        seen += bodies(messages)
        run_webhooks_worker(messages)
    return seen
