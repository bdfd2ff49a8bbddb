"""What a real deploy needs beyond the app's resources: the runtime and code of every function,
the API stage (throttling, access logs, gateway responses in our envelope), the public URL,
alarm subscribers, optional reserved concurrency, versioning, on-failure destinations."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra import api, config, runtime
from tests.infra.cfn import function_ids, props, ref_id, refs_in, resources

pytestmark = pytest.mark.xdist_group("infra")

STAGES = ("dev", "prod")


def _queue_id(template: dict[str, Any], name: str) -> str:
    return next(key for key, res in resources(template, "AWS::SQS::Queue").items() if res["Properties"]["QueueName"] == name)


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_runs_the_declared_runtime_with_one_package(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    code = set()
    for logical in function_ids(template).values():
        p = props(template, logical)
        assert (p["Runtime"], p["Architectures"]) == (runtime.RUNTIME, [runtime.ARCHITECTURE])
        code.add(json.dumps(p["CodeUri"], sort_keys=True))
    assert len(code) == 1, "every function deploys the same package"
    assert synth.templates["dev"]["Resources"][function_ids(template)["worker"]]["Properties"]["CodeUri"] == json.loads(
        code.pop()
    )


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_does_not_depend_on_its_function(synth: Any, stage: str) -> None:
    """Integrations name the handler by function name, so the function can carry the API's URL."""
    template = synth.templates[stage]
    rest_api = template["Resources"]["RestAPI"]
    assert "APIHandler" not in refs_in(rest_api) and "APIHandler" not in json.dumps(rest_api)
    uris = {
        json.dumps(op["x-amazon-apigateway-integration"]["uri"])
        for path in rest_api["Properties"]["DefinitionBody"]["paths"].values()
        for op in path.values()
    }
    assert uris == {
        json.dumps(
            {
                "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
                "functions/arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
                f"function:imagegen-{stage}-api-handler/invocations"
            }
        )
    }
    permission = next(iter(resources(template, "AWS::Lambda::Permission").values()))["Properties"]
    assert ref_id(permission["FunctionName"]) == "APIHandler"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_throttling_is_a_context_configurable_backstop(synth: Any, stage: str) -> None:
    settings = props(synth.templates[stage], "RestAPI")["MethodSettings"]
    expected_rate = 250 if stage == "prod" else config.STAGE_CONFIGS["dev"].api_rate_limit  # prod: -c api_rate_limit:prod
    assert settings == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": expected_rate,
            "ThrottlingBurstLimit": config.STAGE_CONFIGS[stage].api_burst_limit,
        }
    ]


def _sample(text: str) -> str:
    """API Gateway's substitution of $context variables, with plausible values."""
    return re.sub(r"\$context\.[a-zA-Z.]+", "0", text)


@pytest.mark.parametrize("stage", STAGES)
def test_access_logs_are_json_lines_in_a_group_with_retention(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    setting = props(template, "RestAPI")["AccessLogSetting"]
    line = json.loads(_sample(setting["Format"]))
    assert {"requestId", "ip", "route", "status", "latencyMs"} <= set(line)
    group = template["Resources"][ref_id(setting["DestinationArn"])]
    assert group["Properties"]["LogGroupName"] == f"/aws/apigateway/imagegen-{stage}/access"
    assert group["Properties"]["RetentionInDays"] == (90 if stage == "prod" else 14)
    account = next(iter(resources(template, "AWS::ApiGateway::Account").items()))
    assert account[1]["DeletionPolicy"] == "Retain", "an account-wide setting outlives the stack"
    role = ref_id(account[1]["Properties"]["CloudWatchRoleArn"])
    assert template["Resources"][role]["DeletionPolicy"] == "Retain", "and so does the role it names"
    assert account[0] in template["Resources"]["RestAPI"]["DependsOn"], "the role is set before the stage logs"


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_responses_answer_in_the_envelope_without_echoing_the_request(synth: Any, stage: str) -> None:
    responses = props(synth.templates[stage], "RestAPI")["GatewayResponses"]
    assert (
        set(responses)
        == set(api.GATEWAY_ANSWERS)
        >= {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "REQUEST_TOO_LARGE"}
    )
    for response_type, response in responses.items():
        template_text = response["ResponseTemplates"]["application/json"]
        assert "$context.error" not in template_text and "method.request" not in template_text, response_type
        error = json.loads(template_text.replace("$context.requestId", "req-1"))["error"]
        assert error["request_id"] == "req-1" and error["code"] and error["message"], response_type
        headers = response["ResponseParameters"]["Headers"]
        assert headers["X-Request-Id"] == "context.requestId"
        assert not any(str(v).startswith("method.request") for v in headers.values()), "never echo a request header"
    unknown_route = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown_route["StatusCode"] == "404"
    assert json.loads(_sample(unknown_route["ResponseTemplates"]["application/json"]))["error"]["code"] == "not_found"
    throttled = responses["THROTTLED"]
    assert (throttled["StatusCode"], throttled["ResponseParameters"]["Headers"]["Retry-After"]) == ("429", "'1'")
    assert "StatusCode" not in responses["DEFAULT_4XX"], "the catch-all keeps API Gateway's status"


def test_gateway_envelopes_use_the_apps_error_codes() -> None:
    from chalicelib.api.errors import ApiError
    from chalicelib.api.http import CHALICE_ERROR_CODES

    def subclasses(cls: type) -> set[type]:
        return {cls} | {s for sub in cls.__subclasses__() for s in subclasses(sub)}

    codes = {getattr(cls, "code", None) for cls in subclasses(ApiError)} | set(CHALICE_ERROR_CODES.values())
    assert {answer.code for answer in api.GATEWAY_ANSWERS.values()} <= codes


@pytest.mark.parametrize("stage", STAGES)
def test_reserved_concurrency_is_optional(synth: Any, stage: str) -> None:
    """dev reserves nothing (a new account's quota), prod keeps .chalice/config.json's reservations."""
    template = synth.templates[stage]
    reserved = {
        name: props(template, logical).get("ReservedConcurrentExecutions") for name, logical in function_ids(template).items()
    }
    if stage == "dev":
        assert set(reserved.values()) == {None}
    else:
        assert reserved["worker"] == config.function_settings("prod", "worker")["reserved_concurrency"]


def test_reserved_concurrency_follows_the_context(tmp_path: Any) -> None:
    from aws_cdk import App

    from infra.config import STAGE_CONFIGS
    from infra.options import DeployOptions

    app = App(context={"reserved_concurrency:prod": "false"})
    options = DeployOptions.from_context(app.node.try_get_context, "prod")
    assert options.reserved_concurrency is False and STAGE_CONFIGS["prod"].reserve_concurrency is True


@pytest.mark.parametrize("stage", STAGES)
def test_prod_images_are_versioned_with_noncurrent_expiry(synth: Any, stage: str) -> None:
    bucket = next(iter(resources(synth.templates[stage], "AWS::S3::Bucket").values()))["Properties"]
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    if stage == "prod":
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        assert rules["noncurrent-expire"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    else:
        assert "VersioningConfiguration" not in bucket and "noncurrent-expire" not in rules


@pytest.mark.parametrize("stage", STAGES)
def test_failed_scheduled_runs_land_in_an_alarmed_queue(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    failures = _queue_id(template, f"imagegen-{stage}-scheduled-failures")
    ids = function_ids(template)
    configs = {
        ref_id(c["Properties"]["FunctionName"]): (key, c)
        for key, c in resources(template, "AWS::Lambda::EventInvokeConfig").items()
    }
    assert set(configs) == {ids[fn] for fn in config.SCHEDULED}
    for function in config.SCHEDULED:
        key, invoke = configs[ids[function]]
        p = invoke["Properties"]
        assert (p["Qualifier"], p["MaximumRetryAttempts"]) == ("$LATEST", 2)
        assert ref_id(p["DestinationConfig"]["OnFailure"]["Destination"]) == failures
        role = ref_id(props(template, ids[function])["Role"])
        policy = next(
            k
            for k, r in resources(template, "AWS::IAM::Policy").items()
            if any(ref_id(x) == role for x in r["Properties"]["Roles"])
        )
        assert policy in invoke["DependsOn"]
    alarmed = {
        target
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        for target in refs_in(a["Properties"].get("Metrics", a["Properties"].get("Dimensions")))
    }
    assert failures in alarmed
    assert _queue_id(template, f"imagegen-{stage}-billing-dlq") in alarmed, "nothing consumes the billing DLQ: an alarm does"


def test_alarms_reach_someone_or_synth_warns(synth: Any) -> None:
    subscriptions = [s["Properties"] for s in resources(synth.templates["prod"], "AWS::SNS::Subscription").values()]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.test")]
    assert not resources(synth.templates["dev"], "AWS::SNS::Subscription")

    def warnings(stage: str) -> list[str]:  # what the cdk CLI prints after a synth
        metadata = json.loads((synth.outdir / f"{stage}.metadata.json").read_text())
        return [
            str(entry.get("data")) for entries in metadata.values() for entry in entries if entry["type"] == "aws:cdk:warning"
        ]

    assert any("no subscriber" in w for w in warnings("dev"))
    assert not any("no subscriber" in w for w in warnings("prod"))


def test_synthesizing_leaves_the_process_environment_alone(tmp_path: Any) -> None:
    """Chalice's packager exports the stage's variables while it loads the app; the synth undoes it."""
    import os

    from infra.synth import build_app

    before = dict(os.environ)
    build_app({"package": "app-only", "stage": "dev"}, outdir=str(tmp_path)).synth()
    assert dict(os.environ) == before
