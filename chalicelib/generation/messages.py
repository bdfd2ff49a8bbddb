"""The jobs queue's message: one per admitted job, built by `queue.enqueue_job`, read by the worker.

A dataclass with a strict parse rather than a pydantic model: the worker imports it on every
cold start and must not load pydantic (tests/unit/test_coldstart.py). The body is JSON
`{"workspace_id", "job_id", "admission_ms", "provider", "images"}`; the correlation id travels
as the `correlation_id` message attribute, so logs and traces can follow it without the body.
Unknown body keys are ignored (a newer producer may add one while older workers drain the queue);
a known key with the wrong type is a `MalformedMessage`, never a KeyError further on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import ids


class MalformedMessage(ValueError):
    """A queue message that is not a job message: it can never run, whatever the retries."""


@dataclass(frozen=True)
class JobMessage:
    """Which job to run, and what the worker needs before it reads the job: the provider and the
    image count (the provider's per-minute quota is taken first), and the admission's duration
    (the job's timing waterfall)."""

    workspace_id: str
    job_id: str
    provider: str | None = None
    images: int | None = None
    admission_ms: int | None = None
    correlation_id: str | None = None

    def body(self) -> str:
        return json.dumps(
            {
                "workspace_id": self.workspace_id,
                "job_id": self.job_id,
                "admission_ms": self.admission_ms,
                "provider": self.provider,
                "images": self.images,
            }
        )

    def attributes(self) -> dict[str, dict[str, str]]:
        if not self.correlation_id:
            return {}
        return {"correlation_id": {"DataType": "String", "StringValue": self.correlation_id}}

    def run_payload(self) -> dict[str, Any]:
        """What the worker's idempotent run receives (Powertools keys it on `job_id`)."""
        payload: dict[str, Any] = {"workspace_id": self.workspace_id, "job_id": self.job_id}
        if self.admission_ms is not None:
            payload["admission_ms"] = self.admission_ms
        return payload

    @classmethod
    def parse(cls, body: str, attributes: Mapping[str, Any] | None = None) -> JobMessage:
        """The message of an SQS record (its body and `messageAttributes`), or MalformedMessage."""
        try:
            data = json.loads(body)
        except (TypeError, ValueError) as exc:
            raise MalformedMessage("the message body is not JSON") from exc
        if not isinstance(data, dict):
            raise MalformedMessage("the message body is not a JSON object")
        workspace_id, job_id = data.get("workspace_id"), data.get("job_id")
        if not isinstance(workspace_id, str) or not workspace_id:
            raise MalformedMessage("the message has no workspace_id")
        if not isinstance(job_id, str) or not ids.is_id(job_id, "job"):
            raise MalformedMessage("the message has no valid job id")
        return cls(
            workspace_id,
            job_id,
            provider=_optional_str(data, "provider"),
            images=_optional_count(data, "images"),
            admission_ms=_optional_count(data, "admission_ms"),
            correlation_id=_correlation_id(attributes),
        )


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedMessage(f"the message's {name} is not a string")
    return value


def _optional_count(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise MalformedMessage(f"the message's {name} is not a non-negative integer")
    return value


def _correlation_id(attributes: Mapping[str, Any] | None) -> str | None:
    value = ((attributes or {}).get("correlation_id") or {}).get("stringValue")
    return value if isinstance(value, str) and value else None
