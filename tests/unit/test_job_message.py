"""The jobs queue's message: what the API sends is what the worker reads; anything else is refused
with a MalformedMessage that says why (never a KeyError deep in the worker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.accounting import provider_quota
from chalicelib.generation.messages import JobMessage, MalformedMessage

JOB = "job_01JB2Z8X7M3Q4R5S6T7V8W9X0Y"


def test_a_message_survives_the_queue_unchanged() -> None:
    sent = JobMessage("ws_1", JOB, provider="openai", images=2, admission_ms=14, correlation_id="req-1")
    attributes = {name: {"stringValue": value["StringValue"]} for name, value in sent.attributes().items()}
    assert JobMessage.parse(sent.body(), attributes) == sent
    assert sent.run_payload() == {"workspace_id": "ws_1", "job_id": JOB, "admission_ms": 14}
    assert JobMessage("ws_1", JOB).attributes() == {}


def test_a_message_of_an_older_or_newer_producer_still_reads() -> None:
    minimal = JobMessage.parse(json.dumps({"workspace_id": "ws_1", "job_id": JOB}))
    assert minimal == JobMessage("ws_1", JOB)
    assert minimal.run_payload() == {"workspace_id": "ws_1", "job_id": JOB}
    extra = JobMessage.parse(json.dumps({"workspace_id": "ws_1", "job_id": JOB, "priority": "high"}))
    assert extra == JobMessage("ws_1", JOB)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"job_id": JOB}), "no workspace_id"),
        (json.dumps({"workspace_id": "", "job_id": JOB}), "no workspace_id"),
        (json.dumps({"workspace_id": "ws_1"}), "no valid job id"),
        (json.dumps({"workspace_id": "ws_1", "job_id": "img_01JB2Z8X7M3Q4R5S6T7V8W9X0Y"}), "no valid job id"),
        (json.dumps({"workspace_id": "ws_1", "job_id": JOB, "images": "2"}), "images"),
        (json.dumps({"workspace_id": "ws_1", "job_id": JOB, "images": True}), "images"),
        (json.dumps({"workspace_id": "ws_1", "job_id": JOB, "admission_ms": -1}), "admission_ms"),
        (json.dumps({"workspace_id": "ws_1", "job_id": JOB, "provider": 7}), "provider"),
    ],
)
def test_a_malformed_message_is_refused_with_its_reason(body: str, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        JobMessage.parse(body)


def test_a_full_provider_window_waits_into_the_next_minute() -> None:
    at = datetime(2031, 5, 17, 9, 41, 5, tzinfo=UTC)
    window, elapsed = provider_quota.window_of(at)
    assert elapsed == 5 and window == int(at.timestamp()) // 60
    assert provider_quota.wait_for_next_window(elapsed, 3) == 58  # 55 s left in this minute, then 3 s
    assert provider_quota.wait_for_next_window(59, 1) == 2
    assert provider_quota.window_key("openai", window) != provider_quota.window_key("gemini", window)
