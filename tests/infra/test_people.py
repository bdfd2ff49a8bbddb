"""Teams in the stack: the user pool people sign in with, its app client, the settings the app
reads to verify their tokens, and the SES identity invitation mail is sent from (prod here)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.cfn import function_ids, props, ref_id, resources, statements

pytestmark = pytest.mark.xdist_group("infra")


@pytest.fixture(params=["dev", "prod"])
def stage_template(request: pytest.FixtureRequest, synth: Any) -> tuple[str, dict[str, Any]]:
    return request.param, synth.templates[request.param]


def _one(template: dict[str, Any], type_name: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, type_name)
    assert len(found) == 1, found
    key, res = next(iter(found.items()))
    return key, res.get("Properties", {})


def test_the_user_pool_signs_people_in_by_verified_email(stage_template: tuple[str, dict[str, Any]]) -> None:
    stage, template = stage_template
    pool_id, pool = _one(template, "AWS::Cognito::UserPool")
    assert pool["UserPoolName"] == f"imagegen-{stage}-people"
    assert pool["UsernameAttributes"] == ["email"] and pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["DeletionProtection"] == ("ACTIVE" if stage == "prod" else "INACTIVE")
    client_id, client = _one(template, "AWS::Cognito::UserPoolClient")
    assert ref_id(client["UserPoolId"]) == pool_id
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert set(client["ReadAttributes"]) >= {"email", "email_verified"}  # ID tokens carry what linking needs
    assert client["PreventUserExistenceErrors"] == "ENABLED"


def test_every_function_knows_the_pool_and_client(stage_template: tuple[str, dict[str, Any]]) -> None:
    _, template = stage_template
    pool_id, _ = _one(template, "AWS::Cognito::UserPool")
    client_id, _ = _one(template, "AWS::Cognito::UserPoolClient")
    for logical in function_ids(template).values():
        env = props(template, logical)["Environment"]["Variables"]
        assert ref_id(env["COGNITO_USER_POOL_ID"]) == pool_id
        assert ref_id(env["COGNITO_CLIENT_ID"]) == client_id
        assert "COGNITO_JWKS_URL" not in env  # derived from the pool in AWS


def _ses_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [s for s in statements(template, role_id) if any(str(a).startswith("ses:") for a in _list(s["Action"]))]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_of(template: dict[str, Any], function: str) -> str:
    role = ref_id(props(template, function_ids(template)[function])["Role"])
    assert role is not None
    return role


def test_prod_mails_invitations_through_its_ses_identity_only(prod: dict[str, Any]) -> None:
    _, identity = _one(prod, "AWS::SES::EmailIdentity")
    assert identity["EmailIdentity"] == "noreply@example.test"
    [grant] = _ses_statements(prod, _role_of(prod, "api_handler"))
    assert _list(grant["Action"]) == ["ses:SendEmail"]
    assert grant["Condition"] == {"StringEquals": {"ses:FromAddress": "noreply@example.test"}}
    assert "identity/noreply@example.test" in str(grant["Resource"])
    for function in function_ids(prod):
        if function != "api_handler":
            assert _ses_statements(prod, _role_of(prod, function)) == [], function
    env = props(prod, function_ids(prod)["api_handler"])["Environment"]["Variables"]
    assert env["MAIL_FROM"] == "noreply@example.test"


def test_without_mail_from_nothing_may_send_mail(dev: dict[str, Any]) -> None:
    assert resources(dev, "AWS::SES::EmailIdentity") == {}
    for function in function_ids(dev):
        assert _ses_statements(dev, _role_of(dev, function)) == [], function
    assert "MAIL_FROM" not in props(dev, function_ids(dev)["api_handler"])["Environment"]["Variables"]
