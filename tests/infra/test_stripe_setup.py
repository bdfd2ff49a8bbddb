"""scripts/stripe_setup.py against the local fake of the Stripe API (a new, empty account) and
moto's SSM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib.billing.catalog import PACKS, PLAN_PRICES_CENTS
from chalicelib.billing.events import HANDLERS
from chalicelib.local.fake_stripe import FakeStripe
from scripts import stage_env, stripe_setup

API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/api"
SECRET_PARAM = "/imagegen/dev/stripe-webhook-secret"
CONNECT_SECRET_PARAM = "/imagegen/dev/stripe-connect-webhook-secret"


@contextmanager
def _moto_keeping_data() -> Iterator[None]:
    """moto's in-process mock WITHOUT its reset: entering `mock_aws()` wipes every backend of
    this process, the suite's moto server's (tests/conftest.py) included, and so the tables of
    whatever runs next on this worker. The tests clean up what they create instead."""
    from moto import mock_aws

    mock = mock_aws()
    mock.start(reset=False)
    try:
        yield
    finally:
        mock.stop(remove_data=False)


def _forget_secret() -> None:
    for name in (SECRET_PARAM, CONNECT_SECRET_PARAM):
        try:
            _ssm().delete_parameter(Name=name)
        except _ssm().exceptions.ParameterNotFound:
            pass


def _endpoint(fake: FakeStripe, path: str = "/webhooks/stripe") -> dict[str, Any]:
    """The one endpoint whose URL ends with `path` (the platform's, or the Connect one)."""
    (found,) = [e for e in fake.endpoints.values() if str(e["url"]).endswith(path)]
    return found


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    fake = FakeStripe(catalog=False)
    monkeypatch.setenv("STRIPE_API_BASE", fake.start())
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_setup")
    with _moto_keeping_data():
        _forget_secret()
        try:
            yield fake
        finally:
            _forget_secret()
    fake.stop()


def _ssm() -> Any:
    import boto3

    return boto3.client("ssm", region_name="us-east-1")


def test_first_run_creates_the_catalog_and_the_webhook_and_stores_its_secret(fake: FakeStripe) -> None:
    report = stripe_setup.run("dev", API_URL)
    assert sorted(report["prices_created"]) == sorted([*PACKS, *(f"{p}_{i}" for p, i in PLAN_PRICES_CENTS)])
    assert {k: (p["unit_amount"], (p["recurring"] or {}).get("interval")) for k, p in fake.prices.items()} == {
        **{k: (pack.amount_cents, None) for k, pack in PACKS.items()},
        **{f"{plan}_{interval}": (cents, interval) for (plan, interval), cents in PLAN_PRICES_CENTS.items()},
    }
    assert {p["product"] for k, p in fake.prices.items() if k.startswith("pro_")} == {"imagegen_plan_pro"}
    assert len(fake.endpoints) == 2  # the platform's and the Connect one (below)
    endpoint = _endpoint(fake)
    assert endpoint["url"] == API_URL + "/webhooks/stripe"
    assert sorted(endpoint["enabled_events"]) == sorted(HANDLERS)
    assert endpoint["metadata"] == {"app": "imagegen", "stage": "dev"}
    parameter = _ssm().get_parameter(Name=SECRET_PARAM, WithDecryption=True)["Parameter"]
    assert (parameter["Value"], parameter["Type"]) == (f"whsec_{endpoint['id']}", "SecureString")
    assert report["webhook"]["action"] == "created" and report["webhook_secret_stored"] is True


def test_a_second_run_creates_nothing(fake: FakeStripe) -> None:
    stripe_setup.run("dev", API_URL)
    writes = len(fake.writes)
    report = stripe_setup.run("dev", API_URL + "/")
    assert len(fake.writes) == writes, f"second run wrote {fake.writes[writes:]}"
    assert report["prices_created"] == [] and len(report["prices_existing"]) == len(PACKS) + len(PLAN_PRICES_CENTS)
    assert report["webhook"]["action"] == "unchanged" and report["webhook_secret_stored"] is False
    assert _ssm().get_parameter(Name=SECRET_PARAM)["Parameter"]["Version"] == 1


def test_missing_events_and_a_moved_url_update_the_endpoint_in_place(fake: FakeStripe) -> None:
    stripe_setup.run("dev", API_URL)
    endpoint = _endpoint(fake)
    endpoint["enabled_events"] = ["invoice.paid"]
    report = stripe_setup.run("dev", "https://api.example.test")
    assert report["webhook"]["action"] == "updated"
    assert _endpoint(fake)["url"] == "https://api.example.test/webhooks/stripe"
    assert sorted(_endpoint(fake)["enabled_events"]) == sorted(HANDLERS)
    assert _ssm().get_parameter(Name=SECRET_PARAM)["Parameter"]["Version"] == 1, "the same endpoint keeps its secret"


# --- the Connect endpoint (marketplace payouts: account.updated) ---------------------------------


def test_the_connect_endpoint_is_created_with_its_own_secret(fake: FakeStripe) -> None:
    report = stripe_setup.run("dev", API_URL)
    connect = _endpoint(fake, "/webhooks/stripe-connect")
    assert connect["url"] == API_URL + "/webhooks/stripe-connect" and connect["enabled_events"] == ["account.updated"]
    assert connect["metadata"] == {"app": "imagegen", "stage": "dev", "kind": "connect"}
    [created] = [
        p for m, path, p in fake.requests if (m, path) == ("POST", "/v1/webhook_endpoints") and p["url"] == connect["url"]
    ]
    assert created["connect"] == "true"  # events of the connected accounts, not the platform's
    assert "connect" not in [p for m, path, p in fake.requests if (m, path) == ("POST", "/v1/webhook_endpoints")][0]
    parameter = _ssm().get_parameter(Name=CONNECT_SECRET_PARAM, WithDecryption=True)["Parameter"]
    assert (parameter["Value"], parameter["Type"]) == (f"whsec_{connect['id']}", "SecureString")
    assert _ssm().get_parameter(Name=SECRET_PARAM, WithDecryption=True)["Parameter"]["Value"] == f"whsec_{_endpoint(fake)['id']}"
    assert report["connect_webhook"] == {"url": connect["url"], "action": "created", "events": ["account.updated"]}
    assert report["connect_webhook_secret_parameter"] == CONNECT_SECRET_PARAM and report["connect_webhook_secret_stored"]


def test_the_connect_endpoint_is_kept_updated_in_place_or_recreated_on_request(fake: FakeStripe) -> None:
    stripe_setup.run("dev", API_URL)
    again = stripe_setup.run("dev", API_URL)
    assert again["connect_webhook"]["action"] == "unchanged" and again["connect_webhook_secret_stored"] is False
    connect = _endpoint(fake, "/webhooks/stripe-connect")
    connect["enabled_events"], connect["status"] = ["account.application.deauthorized"], "disabled"
    assert stripe_setup.run("dev", API_URL)["connect_webhook"]["action"] == "updated"
    connect = _endpoint(fake, "/webhooks/stripe-connect")
    assert (connect["enabled_events"], connect["status"]) == (["account.updated"], "enabled")
    assert _ssm().get_parameter(Name=CONNECT_SECRET_PARAM)["Parameter"]["Version"] == 1, "the same endpoint keeps its secret"
    _ssm().delete_parameter(Name=CONNECT_SECRET_PARAM)
    platform = _endpoint(fake)["id"]
    with pytest.raises(SystemExit, match="--recreate-webhook"):
        stripe_setup.run("dev", API_URL)
    report = stripe_setup.run("dev", API_URL, recreate_webhook=True)
    new = _endpoint(fake, "/webhooks/stripe-connect")["id"]
    assert new != connect["id"] and report["connect_webhook"]["action"] == "created" and _endpoint(fake)["id"] == platform
    assert _ssm().get_parameter(Name=CONNECT_SECRET_PARAM, WithDecryption=True)["Parameter"]["Value"] == f"whsec_{new}"


def test_a_price_that_differs_from_the_catalog_fails_until_replaced(fake: FakeStripe, capsys: pytest.CaptureFixture[str]) -> None:
    stripe_setup.run("dev", API_URL)
    fake.prices["pack_1000"]["unit_amount"] = 999
    assert stripe_setup.main(["--stage", "dev", "--url", API_URL]) == 1
    assert "pack_1000" in json.loads(capsys.readouterr().out)["mismatched"][0]
    assert stripe_setup.main(["--stage", "dev", "--url", API_URL, "--replace-mismatched"]) == 0
    assert fake.prices["pack_1000"]["unit_amount"] == PACKS["pack_1000"].amount_cents


def test_an_endpoint_without_its_secret_in_ssm_is_only_recreated_on_request(fake: FakeStripe) -> None:
    stripe_setup.run("dev", API_URL)
    _ssm().delete_parameter(Name=SECRET_PARAM)
    old, connect = _endpoint(fake)["id"], _endpoint(fake, "/webhooks/stripe-connect")["id"]
    with pytest.raises(SystemExit, match="--recreate-webhook"):
        stripe_setup.run("dev", API_URL)
    assert set(fake.endpoints) == {old, connect}
    report = stripe_setup.run("dev", API_URL, recreate_webhook=True)
    new = _endpoint(fake)["id"]
    assert new != old and report["webhook"]["action"] == "created"
    assert _endpoint(fake, "/webhooks/stripe-connect")["id"] == connect and report["connect_webhook"]["action"] == "unchanged"
    assert _ssm().get_parameter(Name=SECRET_PARAM, WithDecryption=True)["Parameter"]["Value"] == f"whsec_{new}"


def test_the_stage_key_and_url_come_from_ssm_and_the_stack(fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a real run uses: the key from the stage's SSM parameter, the URL from the stack's output."""
    monkeypatch.delenv("STRIPE_API_KEY")
    _ssm().put_parameter(Name="/imagegen/dev/stripe-api-key", Value="sk_test_from_ssm", Type="SecureString")
    import boto3

    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="imagegen-dev",
        TemplateBody=json.dumps(
            {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"EndpointURL": {"Value": "https://dev.example.test/api/"}},
            }
        ),
    )
    report = stripe_setup.run("dev", None)
    assert report["webhook"]["url"] == "https://dev.example.test/api/webhooks/stripe"


def test_stage_env_exports_the_deployed_settings_for_the_operator_tools() -> None:
    """scripts/stage_env.py: what `ops create-admin` needs to reach a deployed stage, from its function."""
    import io
    import shlex
    import subprocess
    import zipfile

    import boto3

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def app(event, context): return {}\n")
    with _moto_keeping_data():
        iam = boto3.client("iam", region_name="eu-west-1")
        name = "imagegen-dev-api-handler"
        try:
            role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            client = boto3.client("lambda", region_name="eu-west-1")
            client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.app",
                Code={"ZipFile": code.getvalue()},
                Environment={
                    "Variables": {
                        "STAGE": "dev",
                        "TABLE_PREFIX": "imagegen-dev",
                        "DEFAULT_PROVIDER": "gemini",
                        "PUBLIC_BASE_URL": "https://x.test/api?a=1&b='2'",
                        "STRIPE_API_KEY_PARAM": "/imagegen/dev/stripe-api-key",
                    }
                },
            )
            variables = stage_env.deployed_environment("dev", client)
        finally:
            boto3.client("lambda", region_name="eu-west-1").delete_function(FunctionName=name)
            iam.delete_role(RoleName="r")
    assert variables["AWS_REGION"] == "eu-west-1" and variables["DEFAULT_PROVIDER"] == "gemini"
    assert not any(key.startswith("POWERTOOLS_TRACE") for key in variables)
    script = stage_env.exports(variables) + "\nenv"
    shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env={})
    seen = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
    assert seen["PUBLIC_BASE_URL"] == "https://x.test/api?a=1&b='2'", "quoted for the shell"
    assert seen["STRIPE_API_KEY_PARAM"] == "/imagegen/dev/stripe-api-key"
    assert shlex.split(stage_env.exports({"A": "b c"})) == ["export", "A=b c"]
