"""Mobile push in the stack: the SNS platform applications are configuration (context), every
function learns their ARNs, and only the API (endpoints) and the webhooks worker (publish) may
touch them, only their endpoints; the new tables come from the models with their index and TTL."""

from __future__ import annotations

from typing import Any

import pytest

from infra.options import DeployOptions
from tests.infra.cfn import function_ids, props, ref_id, resources, statements

pytestmark = pytest.mark.xdist_group("infra")

APNS = "arn:aws:sns:us-east-1:123456789012:app/APNS/imagegen-ios"
FCM = "arn:aws:sns:us-east-1:123456789012:app/GCM/imagegen-android"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _push_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = ref_id(props(template, function_ids(template)[function])["Role"])
    assert role is not None
    return [s for s in statements(template, role) if any(str(a).startswith("sns:") for a in _list(s["Action"]))]


def test_prod_pushes_through_its_platform_applications_only(prod: dict[str, Any]) -> None:
    endpoints = [APNS.replace(":app/", ":endpoint/") + "/*", FCM.replace(":app/", ":endpoint/") + "/*"]
    [register] = _push_statements(prod, "api_handler")
    assert sorted(_list(register["Action"])) == ["sns:CreatePlatformEndpoint", "sns:DeleteEndpoint", "sns:SetEndpointAttributes"]
    assert sorted(_list(register["Resource"])) == sorted([APNS, FCM, *endpoints])
    [send] = _push_statements(prod, "webhooks_worker")
    assert sorted(_list(send["Action"])) == ["sns:DeleteEndpoint", "sns:Publish"]
    for function in function_ids(prod):
        if function not in ("api_handler", "webhooks_worker"):
            assert _push_statements(prod, function) == [], function
        env = props(prod, function_ids(prod)[function])["Environment"]["Variables"]
        assert env["PUSH_APNS_APPLICATION_ARN"] == APNS and env["PUSH_FCM_APPLICATION_ARN"] == FCM


def test_without_platform_applications_nothing_may_touch_sns(dev: dict[str, Any]) -> None:
    for function in function_ids(dev):
        assert _push_statements(dev, function) == [], function
        assert "PUSH_APNS_APPLICATION_ARN" not in props(dev, function_ids(dev)[function])["Environment"]["Variables"]


def test_the_mobile_tables_are_built_from_the_models(prod: dict[str, Any]) -> None:
    tables = {p["TableName"]: p for p in (r["Properties"] for r in resources(prod, "AWS::DynamoDB::Table").values())}
    changes = next(p for name, p in tables.items() if str(name).endswith("-sync_changes"))
    assert [i["IndexName"] for i in changes["GlobalSecondaryIndexes"]] == ["by_time"]
    assert changes["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    devices = next(p for name, p in tables.items() if str(name).endswith("-devices"))
    assert devices["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("push_apns_application_arn", "arn:aws:sns:us-east-1:123456789012:app/GCM/wrong-kind"),
        ("push_fcm_application_arn", "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/x/y"),
        ("push_apns_application_arn", "imagegen-ios"),
    ],
)
def test_a_wrong_platform_application_fails_the_synth(key: str, value: str) -> None:
    context = {key: value, "default_provider": "openai"}
    with pytest.raises(ValueError, match=key):
        DeployOptions.from_context(context.get, "dev")
