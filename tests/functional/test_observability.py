"""Logs carry the context keys; errors reach Sentry (a local transport) with request/job context."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from chalicelib import observability
from chalicelib.api.errors import is_client_error
from tests.functional.helpers import call, drain, purge


class CapturingTransport(Transport):
    """Keeps envelopes in memory: nothing leaves the process."""

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.events: list[dict] = []

    def capture_envelope(self, envelope) -> None:
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture()
def sentry(monkeypatch):
    monkeypatch.setenv("SENTRY_DSN", "http://public@127.0.0.1:9/1")
    transport = CapturingTransport()
    assert observability.init_error_reporting(answered=is_client_error, transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)
    observability._sentry_on = False


def test_worker_crash_is_reported_with_job_context(api, make_tenant, sentry):
    purge()
    t = make_tenant()
    _, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "[crash:before_settle] report me"})
    drain()
    sentry_sdk.flush()
    crashes = [e for e in sentry.events if "injected crash" in json.dumps(e.get("exception", {}))]
    assert crashes, sentry.events
    tags = crashes[0]["tags"]
    assert tags["job_id"] == body["job"]["id"] and tags["workspace_id"] == t.workspace_id
    assert tags["provider"] == "local" and tags.get("correlation_id")


def test_api_500_is_reported_with_request_context_and_4xx_is_not(api, make_tenant, sentry, monkeypatch):
    t = make_tenant()
    call(api, "GET", "/v1/jobs/job_nope", t)  # a 404: the client's mistake, never reported
    from chalicelib.generation import service

    def boom(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(service, "list_jobs", boom)
    status, err, headers = call(api, "GET", "/v1/jobs", t)
    assert status == 500 and err["error"]["code"] == "internal_error" and "fire" not in json.dumps(err)
    sentry_sdk.flush()
    assert len(sentry.events) == 1, [e.get("exception") for e in sentry.events]
    event = sentry.events[0]
    assert "database on fire" in json.dumps(event["exception"])
    assert event["tags"]["workspace_id"] == t.workspace_id
    assert event["tags"]["route"] == "GET /v1/jobs" and event["tags"]["request_id"] == headers["X-Request-Id"]
    assert "sk_" not in json.dumps(event)  # no key ever leaves in a report


def test_log_lines_are_json_with_context_keys(api, make_tenant):
    purge()
    t = make_tenant()
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(observability.logger.registered_formatter)
    observability.logger.addHandler(handler)
    observability.logger.setLevel(logging.INFO)
    try:
        status, body, headers = call(api, "POST", "/v1/jobs", t, {"prompt": "log me"}, headers={"X-Request-Id": "req-abc"})
        drain()
    finally:
        observability.logger.setLevel(logging.WARNING)
        observability.logger.removeHandler(handler)
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    request_line = next(line for line in lines if line.get("message") == "request" and line.get("request_id") == "req-abc")
    assert request_line["route"] == "POST /v1/jobs" and request_line["status"] == 202
    assert request_line["workspace_id"] == t.workspace_id and request_line["user_id"] == t.user_id
    assert isinstance(request_line["latency_ms"], int)
    # (the drain may also run another test's message that came back from in-flight: pick ours)
    job_line = next(line for line in lines if line.get("message") == "job succeeded" and line.get("job_id") == body["job"]["id"])
    assert job_line["workspace_id"] == t.workspace_id
    assert job_line["correlation_id"] == "req-abc"  # carried API -> SQS attribute -> worker
    assert isinstance(job_line["latency_ms"], int)
