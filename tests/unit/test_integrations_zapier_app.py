"""The Zapier app definition in the repo points at routes that exist, with bodies they accept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parents[2] / "integrations" / "zapier" / "app.json"


def _requests(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if "url" in node and "method" in node else []
        return found + [r for value in node.values() for r in _requests(value)]
    if isinstance(node, list):
        return [r for value in node for r in _requests(value)]
    return []


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    import app
    from chalicelib.api.openapi import build_openapi

    return build_openapi(app.app)


def _path(url: str) -> str:
    path = url.replace("{{process.env.IMAGEGEN_BASE_URL}}", "")
    return re.sub(r"\{\{bundle\.subscribeData\.id\}\}", "{subscription_id}", path)


def test_every_request_of_the_app_is_an_operation_of_the_api(document: dict[str, Any]) -> None:
    app = json.loads(APP.read_text())
    requests = _requests(app)
    assert len(requests) >= 8
    for request in requests:
        path = _path(request["url"])
        assert path in document["paths"], path
        assert request["method"].lower() in document["paths"][path], (path, request["method"])


def test_the_triggers_and_action_the_issue_names(document: dict[str, Any]) -> None:
    app = json.loads(APP.read_text())
    assert set(app["triggers"]) == {"new_image", "job_failed"} and set(app["creates"]) == {"generate_image"}
    events = {t["operation"]["performSubscribe"]["body"]["event"] for t in app["triggers"].values()}
    allowed = document["components"]["schemas"]["ZapierSubscribe"]["properties"]["event"]
    enum = allowed.get("enum") or document["components"]["schemas"][allowed["$ref"].rsplit("/", 1)[1]]["enum"]
    assert events == {"job.succeeded", "job.failed"} and events <= set(enum)
    for trigger in app["triggers"].values():
        assert trigger["operation"]["type"] == "hook" and "id" in trigger["operation"]["sample"]
