"""IFTTT service API: the service key guards every call, the user's key picks the workspace;
polling triggers answer newest first within `limit`; the action starts one job per X-Request-ID;
errors carry IFTTT's `errors` list beside our envelope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.helpers import call, drain

SERVICE_KEY = "ifttt-service-key-for-tests"


@pytest.fixture()
def ifttt_on(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from chalicelib.secrets import secret

    monkeypatch.setenv("IFTTT_SERVICE_KEY", SERVICE_KEY)
    monkeypatch.setenv("IFTTT_TEST_ACCESS_TOKEN", "sk_test_ifttt_tester")
    secret.cache_clear()
    yield {"IFTTT-Service-Key": SERVICE_KEY}
    secret.cache_clear()


def test_the_service_key_is_required_everywhere(api: Any, make_tenant: Any, ifttt_on: dict[str, str]) -> None:
    owner = make_tenant()
    for method, path, body in (
        ("GET", "/ifttt/v1/status", None),
        ("POST", "/ifttt/v1/test/setup", None),
        ("POST", "/ifttt/v1/triggers/job_succeeded", {}),
        ("POST", "/ifttt/v1/actions/generate_image", {"actionFields": {"prompt": "x"}}),
    ):
        for headers in ({}, {"IFTTT-Service-Key": "wrong"}):
            status, answer, _ = call(api, method, path, owner, body, headers)
            assert status == 401, (path, answer)
            assert answer["errors"][0]["message"] and answer["error"]["code"] == "unauthenticated"
    status, answer, _ = call(api, "GET", "/ifttt/v1/status", None, None, ifttt_on)
    assert status == 200 and answer == {"status": "ok"}
    status, setup, _ = call(api, "POST", "/ifttt/v1/test/setup", None, None, ifttt_on)
    assert status == 200 and setup["data"]["accessToken"] == "sk_test_ifttt_tester"
    assert set(setup["data"]["samples"]["triggers"]) == {"job_succeeded", "job_failed"}


def test_triggers_are_newest_first_within_the_limit_and_per_workspace(
    api: Any, make_tenant: Any, ifttt_on: dict[str, str]
) -> None:
    owner, other = make_tenant(), make_tenant()
    made = [call(api, "POST", "/v1/jobs", owner, {"prompt": f"ifttt {n}"})[1]["job"]["id"] for n in range(3)]
    call(api, "POST", "/v1/jobs", owner, {"prompt": "this one fails [fail:safety]"})
    drain()
    status, page, _ = call(
        api, "POST", "/ifttt/v1/triggers/job_succeeded", owner, {"limit": 2, "trigger_identity": "t1"}, ifttt_on
    )
    assert status == 200 and [i["job_id"] for i in page["data"]] == made[::-1][:2]
    assert all(i["meta"]["id"] == i["job_id"] and i["meta"]["timestamp"] > 0 and i["image_ids"] for i in page["data"])
    assert call(api, "POST", "/ifttt/v1/triggers/job_succeeded", owner, {"limit": 0}, ifttt_on)[1]["data"] == []
    assert len(call(api, "POST", "/ifttt/v1/triggers/job_failed", owner, {}, ifttt_on)[1]["data"]) == 1
    assert call(api, "POST", "/ifttt/v1/triggers/job_succeeded", other, {}, ifttt_on)[1]["data"] == []
    status, answer, _ = call(api, "POST", "/ifttt/v1/triggers/nope", owner, {}, ifttt_on)
    assert status == 404 and answer["errors"]
    status, answer, _ = call(api, "POST", "/ifttt/v1/triggers/job_failed", owner, {"limit": "5"}, ifttt_on)
    assert status == 400 and answer["errors"] and answer["error"]["field"] == "limit"


def test_the_action_starts_one_job_per_request_id(api: Any, make_tenant: Any, ifttt_on: dict[str, str]) -> None:
    owner = make_tenant()
    headers = {**ifttt_on, "X-Request-ID": "ifttt-req-1"}
    body = {"actionFields": {"prompt": "a kite over dunes"}, "user": {"timezone": "UTC"}}
    first = call(api, "POST", "/ifttt/v1/actions/generate_image", owner, body, headers)
    again = call(api, "POST", "/ifttt/v1/actions/generate_image", owner, body, headers)
    assert first[0] == again[0] == 200 and first[1]["data"][0]["id"] == again[1]["data"][0]["id"]
    assert len(call(api, "GET", "/v1/jobs", owner)[1]["data"]) == 1
    for bad in ({"actionFields": {}}, {"actionFields": {"prompt": ""}}, {}):
        status, answer, _ = call(api, "POST", "/ifttt/v1/actions/generate_image", owner, bad, ifttt_on)
        assert status == 400 and answer["errors"], answer
    assert call(api, "POST", "/ifttt/v1/actions/unknown", owner, body, ifttt_on)[0] == 404
    assert len(call(api, "GET", "/v1/jobs", owner)[1]["data"]) == 1
