"""Devices: registering push tokens (idempotent, one owner per token), listing without the full
token, removing one's own; SNS platform endpoints for ios/android on moto; bad input."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.aws import client
from tests.functional.helpers import call
from tests.functional.library_helpers import member_of
from tests.functional.mobile_helpers import apns_token, expo_token, fcm_token, register


def test_register_list_and_remove_an_expo_device(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    token = expo_token()
    body = register(api, t, "expo", token)
    device = body["device"]
    assert body["created"] is True and device["id"].startswith("dev_") and device["platform"] == "expo"
    assert device["token_hint"] == "…" + token[-7:-1] and token not in str(body)

    status, listed, _ = call(api, "GET", "/v1/devices", t)
    assert status == 200 and [d["id"] for d in listed["data"]] == [device["id"]]
    assert token not in str(listed) and listed["next_cursor"] is None

    assert call(api, "DELETE", f"/v1/devices/{device['id']}", t)[0] == 204
    assert call(api, "GET", "/v1/devices", t)[1]["data"] == []
    assert call(api, "DELETE", f"/v1/devices/{device['id']}", t)[0] == 404


def test_registering_the_same_token_again_is_the_same_device(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    token = expo_token()
    first = register(api, t, "expo", token)
    again = register(api, t, "expo", token)
    assert again["device"]["id"] == first["device"]["id"] and again["created"] is False
    assert len(call(api, "GET", "/v1/devices", t)[1]["data"]) == 1


def test_a_token_moves_to_whoever_registers_it_last(api: Any, make_tenant: Any) -> None:
    """A phone that changes hands stops getting the first person's pushes."""
    t = make_tenant()
    other = member_of(t, "member")
    token = expo_token()
    register(api, t, "expo", token)
    moved = register(api, other, "expo", token)
    assert moved["created"] is True
    assert call(api, "GET", "/v1/devices", t)[1]["data"] == []
    assert [d["id"] for d in call(api, "GET", "/v1/devices", other)[1]["data"]] == [moved["device"]["id"]]


def test_devices_are_their_owners_alone(api: Any, make_tenant: Any) -> None:
    t, stranger = make_tenant(), make_tenant()
    colleague = member_of(t, "admin")
    device = register(api, t, "expo", expo_token())["device"]
    for who in (stranger, colleague):
        assert call(api, "GET", "/v1/devices", who)[1]["data"] == []
        status, body, _ = call(api, "DELETE", f"/v1/devices/{device['id']}", who)
        assert status == 404 and body["error"]["code"] == "not_found"
    assert [d["id"] for d in call(api, "GET", "/v1/devices", t)[1]["data"]] == [device["id"]]


def test_a_viewer_registers_a_device_too(api: Any, make_tenant: Any) -> None:
    viewer = member_of(make_tenant(), "viewer")
    assert register(api, viewer, "expo", expo_token())["created"] is True


def test_ios_and_android_get_sns_platform_endpoints(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    sns = client("sns")
    for platform, token in (("ios", apns_token()), ("android", fcm_token())):
        device = register(api, t, platform, token)["device"]
        from chalicelib.store import devices as store

        row = store.get(t.workspace_id, t.user_id, device["id"])
        assert row is not None and row.endpoint_arn
        attributes = sns.get_endpoint_attributes(EndpointArn=row.endpoint_arn)["Attributes"]
        assert attributes["Token"] == token
        assert call(api, "DELETE", f"/v1/devices/{device['id']}", t)[0] == 204
        with pytest.raises(sns.exceptions.NotFoundException):
            sns.get_endpoint_attributes(EndpointArn=row.endpoint_arn)


def test_a_disabled_endpoint_is_enabled_again_when_its_token_comes_back(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    token = apns_token()
    from chalicelib.store import devices as store

    first = register(api, t, "ios", token)["device"]
    arn = store.get(t.workspace_id, t.user_id, first["id"]).endpoint_arn  # type: ignore[union-attr]
    client("sns").set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    other = member_of(t, "member")
    moved = register(api, other, "ios", token)["device"]
    row = store.get(t.workspace_id, other.user_id, moved["id"])
    assert row is not None and row.endpoint_arn == arn
    assert client("sns").get_endpoint_attributes(EndpointArn=arn)["Attributes"]["Enabled"] == "true"


def test_a_person_keeps_at_most_twenty_devices(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    made = [register(api, t, "expo", expo_token())["device"]["id"] for _ in range(21)]
    listed = call(api, "GET", "/v1/devices?limit=100", t)[1]["data"]
    assert len(listed) == 20 and made[0] not in {d["id"] for d in listed}


def test_devices_page_with_a_signed_cursor(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    made = [register(api, t, "expo", expo_token())["device"]["id"] for _ in range(3)]
    first = call(api, "GET", "/v1/devices?limit=2", t)[1]
    assert [d["id"] for d in first["data"]] == made[:2] and first["next_cursor"]
    second = call(api, "GET", f"/v1/devices?limit=2&cursor={first['next_cursor']}", t)[1]
    assert [d["id"] for d in second["data"]] == made[2:] and second["next_cursor"] is None
    other = make_tenant()
    status, body, _ = call(api, "GET", f"/v1/devices?cursor={first['next_cursor']}", other)
    assert status == 400 and body["error"]["field"] == "cursor"


BAD_BODIES = [
    ({}, "platform"),
    ({"platform": "expo"}, "token"),
    ({"platform": "windows", "token": "x"}, "platform"),
    ({"platform": "expo", "token": 5}, "token"),
    ({"platform": "expo", "token": ""}, "token"),
    ({"platform": "expo", "token": "ExponentPushToken[]"}, "token"),
    ({"platform": "expo", "token": "not-a-token"}, "token"),
    ({"platform": "expo", "token": "ExponentPushToken[" + "a" * 300 + "]"}, "token"),
    ({"platform": "ios", "token": "zz" * 32}, "token"),
    ({"platform": "ios", "token": "ab" * 10}, "token"),
    ({"platform": "android", "token": "short"}, "token"),
    ({"platform": "android", "token": "a" * 5000}, "token"),
    ({"platform": "expo", "token": expo_token(), "extra": 1}, "extra"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_registrations_are_400_and_store_nothing(api: Any, make_tenant: Any, body: dict[str, Any], field: str) -> None:
    t = make_tenant()
    status, answer, _ = call(api, "POST", "/v1/devices", t, body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_request" and answer["error"]["field"].startswith(field)
    assert call(api, "GET", "/v1/devices", t)[1]["data"] == []


def test_ios_without_a_platform_application_is_a_clear_400(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.settings import reset_settings

    monkeypatch.setenv("PUSH_APNS_APPLICATION_ARN", "")
    reset_settings()
    t = make_tenant()
    status, body, _ = call(api, "POST", "/v1/devices", t, {"platform": "ios", "token": apns_token()})
    assert status == 400 and body["error"]["field"] == "platform" and "not configured" in body["error"]["message"]
    assert call(api, "GET", "/v1/devices", t)[1]["data"] == []


def test_service_keys_have_no_devices(api: Any, make_tenant: Any) -> None:
    t = make_tenant()
    status, made, _ = call(api, "POST", "/v1/service-keys", t, {"name": "ci"})
    assert status == 201, made
    service = type(t)(t.workspace_id, t.user_id, made["key"]["id"], made["secret"])
    status, body, _ = call(api, "POST", "/v1/devices", service, {"platform": "expo", "token": expo_token()})
    assert status == 403 and body["error"]["code"] == "forbidden"
    assert call(api, "GET", "/v1/me/notifications", service)[0] == 403


@pytest.mark.parametrize("device_id", ["dev_x", "nonsense", "dev_" + "0" * 26, "dev_01J%2E%2E"])
def test_deleting_unknown_ids_is_404(api: Any, make_tenant: Any, device_id: str) -> None:
    status, body, _ = call(api, "DELETE", f"/v1/devices/{device_id}", make_tenant())
    assert status == 404 and body["error"]["code"] == "not_found"
