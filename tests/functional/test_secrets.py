"""Secrets from SSM Parameter Store (moto): read once per container; missing ones are a clear 503."""

from __future__ import annotations

import pytest

from chalicelib import secrets
from chalicelib.api.errors import to_api_error
from chalicelib.aws import client
from chalicelib.domain import Misconfigured


def test_a_secret_comes_from_its_ssm_parameter_and_a_missing_one_is_503(aws, monkeypatch):
    secrets.reset()
    monkeypatch.delenv("BILLING_HOOK_SECRET", raising=False)
    monkeypatch.setenv("BILLING_HOOK_SECRET_PARAM", "/imagegen/test/billing-hook-secret")
    with pytest.raises(Misconfigured) as missing:
        secrets.secret("BILLING_HOOK_SECRET")
    assert to_api_error(missing.value).status == 503  # a clear 503 naming it, never a 500
    assert "/imagegen/test/billing-hook-secret" in missing.value.message and "ParameterNotFound" in missing.value.message
    client("ssm").put_parameter(
        Name="/imagegen/test/billing-hook-secret", Value="whsec_from_ssm", Type="SecureString", Overwrite=True
    )
    assert secrets.secret("BILLING_HOOK_SECRET") == "whsec_from_ssm"
    client("ssm").delete_parameter(Name="/imagegen/test/billing-hook-secret")
    assert secrets.secret("BILLING_HOOK_SECRET") == "whsec_from_ssm"  # read once per container
    secrets.reset()
    monkeypatch.delenv("BILLING_HOOK_SECRET_PARAM")
    assert secrets.secret("BILLING_HOOK_SECRET", required=False) == ""
