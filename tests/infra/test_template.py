"""The synthesized templates do what the app needs: tables = models, queues + DLQs, event sources,
schedules, bucket, X-Ray, settings, and cfn-lint finds no error."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra import config
from tests.infra.cfn import function_ids, props, ref_id, resources

pytestmark = pytest.mark.xdist_group("infra")

STAGES = ("dev", "prod")


@pytest.fixture(scope="module", params=STAGES)
def stage_template(request: pytest.FixtureRequest, synth: Any) -> tuple[str, dict[str, Any]]:
    return request.param, synth.templates[request.param]


# --- tables = models --------------------------------------------------------------------------


def _expected_table(model: Any) -> dict[str, Any]:
    """What the model declares, read from its attributes (not through the infra's own reader)."""
    attributes = model.get_attributes()
    types: dict[str, str] = {}

    def key_schema(attrs: dict[str, Any]) -> list[tuple[str, str]]:
        keys = []
        for attr in attrs.values():
            if attr.is_hash_key or attr.is_range_key:
                types[attr.attr_name] = attr.attr_type
                keys.append(("HASH" if attr.is_hash_key else "RANGE", attr.attr_name))
        return sorted(keys)

    table_keys = key_schema(attributes)
    indexes = {}
    for index in model._indexes.values():
        projection = index.Meta.projection
        indexes[index.Meta.index_name] = {
            "keys": key_schema(index.Meta.attributes),
            "projection": projection.projection_type,
            "non_key": sorted(getattr(projection, "non_key_attributes", None) or []),
        }
    return {"keys": table_keys, "types": types, "indexes": indexes, "ttl": model.ttl_attribute}


def _actual_table(properties: dict[str, Any]) -> dict[str, Any]:
    indexes = {}
    for gsi in properties.get("GlobalSecondaryIndexes", []):
        indexes[gsi["IndexName"]] = {
            "keys": sorted((k["KeyType"], k["AttributeName"]) for k in gsi["KeySchema"]),
            "projection": gsi["Projection"]["ProjectionType"],
            "non_key": sorted(gsi["Projection"].get("NonKeyAttributes", [])),
        }
    ttl = properties.get("TimeToLiveSpecification")
    return {
        "keys": sorted((k["KeyType"], k["AttributeName"]) for k in properties["KeySchema"]),
        "types": {d["AttributeName"]: d["AttributeType"] for d in properties["AttributeDefinitions"]},
        "indexes": indexes,
        "ttl": ttl["AttributeName"] if ttl and ttl.get("Enabled") else None,
    }


def test_every_model_is_one_table_with_the_same_schema(stage_template: tuple[str, dict[str, Any]]) -> None:
    from chalicelib.store.models import ALL_MODELS

    stage, template = stage_template
    tables = {res["Properties"]["TableName"]: res for res in resources(template, "AWS::DynamoDB::Table").values()}
    expected_names = {f"imagegen-{stage}-{model.table_suffix}" for model in ALL_MODELS}
    assert set(tables) == expected_names
    for model in ALL_MODELS:
        table = tables[f"imagegen-{stage}-{model.table_suffix}"]
        assert _actual_table(table["Properties"]) == _expected_table(model), model.__name__


def test_tables_are_on_demand_with_point_in_time_recovery(stage_template: tuple[str, dict[str, Any]]) -> None:
    stage, template = stage_template
    protected = stage == "prod"
    for res in resources(template, "AWS::DynamoDB::Table").values():
        p = res["Properties"]
        assert p["BillingMode"] == "PAY_PER_REQUEST"
        assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert p.get("DeletionProtectionEnabled", False) is protected
        assert res.get("DeletionPolicy") == ("Retain" if protected else "Delete")
        assert p["SSESpecification"]["SSEEnabled"] is True


def test_schema_comparison_notices_a_difference() -> None:
    """The comparison above is not vacuous: a changed projection, key or TTL is a mismatch."""
    from chalicelib.store.models import CounterModel, UserModel

    actual = _expected_table(UserModel)
    changed = {**actual, "indexes": {**actual["indexes"], "by_email": {**actual["indexes"]["by_email"], "projection": "ALL"}}}
    assert changed != _expected_table(UserModel)
    assert _expected_table(CounterModel)["ttl"] == "expires_at"
    assert _expected_table(UserModel)["ttl"] is None


# --- queues and event sources -----------------------------------------------------------------


def _queue_by_name(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    for key, res in resources(template, "AWS::SQS::Queue").items():
        if res["Properties"]["QueueName"] == name:
            return key, res["Properties"]
    raise AssertionError(f"no queue {name}")


@pytest.mark.parametrize(
    ("queue", "dlq", "consumer", "max_receive"),
    [
        ("jobs", "jobs-dlq", "worker", config.JOBS_MAX_RECEIVE_COUNT),
        ("billing", "billing-dlq", "billing_worker", config.BILLING_MAX_RECEIVE_COUNT),
        ("webhooks", "webhooks-dlq", "webhooks_worker", config.WEBHOOKS_MAX_RECEIVE_COUNT),
        ("exports", "exports-dlq", "exports_worker", config.EXPORTS_MAX_RECEIVE_COUNT),
        ("trainings", "trainings-dlq", "trainings_worker", config.TRAININGS_MAX_RECEIVE_COUNT),
    ],
)
def test_queues_have_a_dlq_and_outlive_their_consumer(
    stage_template: tuple[str, dict[str, Any]], queue: str, dlq: str, consumer: str, max_receive: int
) -> None:
    stage, template = stage_template
    _, q = _queue_by_name(template, f"imagegen-{stage}-{queue}")
    dlq_id, d = _queue_by_name(template, f"imagegen-{stage}-{dlq}")
    assert ref_id(q["RedrivePolicy"]["deadLetterTargetArn"]) == dlq_id
    assert q["RedrivePolicy"]["maxReceiveCount"] == max_receive
    timeout = props(template, function_ids(template)[consumer])["Timeout"]
    assert q["VisibilityTimeout"] >= 6 * timeout, "AWS's guidance for an event source mapping: 6x the consumer's timeout"
    assert d["MessageRetentionPeriod"] == 14 * 86400 > q["MessageRetentionPeriod"]
    assert q["SqsManagedSseEnabled"] is True and d["SqsManagedSseEnabled"] is True


def test_worker_timeout_matches_the_app_settings(stage_template: tuple[str, dict[str, Any]]) -> None:
    stage, template = stage_template
    worker = props(template, function_ids(template)["worker"])
    env = worker["Environment"]["Variables"]
    assert worker["Timeout"] == 300 == int(env["WORKER_TIMEOUT_S"])
    _, jobs = _queue_by_name(template, f"imagegen-{stage}-jobs")
    # a hold is swept only after every delivery of its job could have run out
    assert int(env["HOLD_MAX_AGE_S"]) >= config.JOBS_MAX_RECEIVE_COUNT * jobs["VisibilityTimeout"] + worker["Timeout"]


@pytest.mark.parametrize(
    ("function", "queue"),
    [
        ("worker", "jobs"),
        ("dead_letters", "jobs-dlq"),
        ("billing_worker", "billing"),
        ("webhooks_worker", "webhooks"),
        ("exports_worker", "exports"),
        ("trainings_worker", "trainings"),
    ],
)
def test_event_source_mappings_report_partial_failures(
    stage_template: tuple[str, dict[str, Any]], function: str, queue: str
) -> None:
    stage, template = stage_template
    queue_id, _ = _queue_by_name(template, f"imagegen-{stage}-{queue}")
    function_id = function_ids(template)[function]
    mappings = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if ref_id(m["Properties"]["EventSourceArn"]) == queue_id
    ]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert ref_id(mapping["FunctionName"]) == function_id
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = mapping["ScalingConfig"]["MaximumConcurrency"]
    reserved = props(template, function_id).get("ReservedConcurrentExecutions")
    assert 2 <= concurrency <= (reserved or concurrency), "the ESM must not push the function into throttling"
    # jobs, its DLQ, billing, webhooks, exports, trainings
    assert len(resources(template, "AWS::Lambda::EventSourceMapping")) == 6


# --- functions, schedules, tracing, settings ----------------------------------------------------


def test_every_app_function_is_deployed_with_its_own_role_and_xray(stage_template: tuple[str, dict[str, Any]]) -> None:
    import app as chalice_app

    stage, template = stage_template
    declared = {
        "api_handler",
        *(f.name for f in chalice_app.app.pure_lambda_functions),
        *(e.name for e in chalice_app.app.event_sources),
    }
    ids = function_ids(template)
    assert set(ids) == declared == set(config.FUNCTIONS)
    roles = set()
    for name, logical in ids.items():
        p = props(template, logical)
        assert p["FunctionName"] == f"imagegen-{stage}-{name.replace('_', '-')}"
        assert p["Tracing"] == "Active"
        settings = config.function_settings(stage, name)
        assert (p["Timeout"], p["MemorySize"]) == (settings["lambda_timeout"], settings["lambda_memory_size"])
        roles.add(ref_id(p["Role"]))
    assert len(roles) == len(ids), "one role per function"
    api = next(iter(resources(template, "AWS::Serverless::Api").values()))["Properties"]
    assert api["TracingEnabled"] is True
    assert api["Name"] == f"imagegen-{stage}"


def test_schedules_declared_in_app_py_are_scheduled(stage_template: tuple[str, dict[str, Any]]) -> None:
    import app as chalice_app

    _, template = stage_template
    ids = function_ids(template)
    sources = chalice_app.app.event_sources
    assert {e.name for e in sources} == set(config.SCHEDULED)
    for source in sources:
        events = props(template, ids[source.name])["Events"]
        expressions = [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"]
        assert expressions == [source.schedule_expression.to_string()]


def test_functions_get_the_settings_the_app_reads(stage_template: tuple[str, dict[str, Any]]) -> None:
    stage, template = stage_template
    bucket_id = next(iter(resources(template, "AWS::S3::Bucket")))
    for logical in function_ids(template).values():
        env = props(template, logical)["Environment"]["Variables"]
        assert env["STAGE"] == stage and env["TABLE_PREFIX"] == f"imagegen-{stage}"
        assert env["FAULT_INJECTION"] == "false"
        assert env["APP_VERSION"] == "9.9.9"
        assert ref_id(env["IMAGES_BUCKET"]) == bucket_id
        for key, queue in (
            ("JOBS_QUEUE_NAME", "jobs"),
            ("JOBS_DLQ_NAME", "jobs-dlq"),
            ("BILLING_QUEUE_NAME", "billing"),
            ("WEBHOOKS_QUEUE_NAME", "webhooks"),
            ("EXPORTS_QUEUE_NAME", "exports"),
        ):
            assert ref_id(env[key]) == _queue_by_name(template, f"imagegen-{stage}-{queue}")[0]
        for secret in config.SECRETS:
            assert env[f"{secret}_PARAM"] == f"/imagegen/{stage}/{secret.lower().replace('_', '-')}"
            assert secret not in env, "secret values never go in the template"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ImageGen"
        assert "POWERTOOLS_TRACE_DISABLED" not in env
        assert env["DEFAULT_PROVIDER"] == ("openai" if stage == "prod" else "gemini")
        assert "ALLOW_LOCAL_PROVIDER" not in env
        # the API's own invoke URL unless the context names one (prod here)
        assert env["PUBLIC_BASE_URL"] == (
            "https://app.example.test"
            if stage == "prod"
            else {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
        )


def test_every_function_has_a_retained_log_group_it_depends_on(stage_template: tuple[str, dict[str, Any]]) -> None:
    stage, template = stage_template
    groups = {res["Properties"].get("LogGroupName"): key for key, res in resources(template, "AWS::Logs::LogGroup").items()}
    for name, logical in function_ids(template).items():
        group = groups[f"/aws/lambda/imagegen-{stage}-{name.replace('_', '-')}"]
        assert group in template["Resources"][logical]["DependsOn"]
        assert template["Resources"][group]["Properties"]["RetentionInDays"] == (90 if stage == "prod" else 14)


# --- bucket -------------------------------------------------------------------------------------


def test_images_bucket_is_private_encrypted_and_cleans_temporary_objects(stage_template: tuple[str, dict[str, Any]]) -> None:
    _, template = stage_template
    t = Template.from_json(template)
    t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like({"Prefix": "tmp/", "ExpirationInDays": 1, "Status": "Enabled"}),
                        Match.object_like(
                            {
                                "Prefix": "statements/",
                                "Status": "Enabled",
                                "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}],
                            }
                        ),
                    ]
                )
            },
        },
    )
    t.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


# --- lint ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_finds_no_errors(synth: Any, stage: str) -> None:
    from cfnlint.api import lint_file
    from cfnlint.config import ManualArgs

    matches = lint_file(synth.template_path(stage), config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    # warnings are reviewed too: none are expected from this app
    assert [m.rule.id for m in matches] == []


def test_synth_is_quick_and_offline(synth: Any) -> None:
    """Both stages in one synth, with no wheel download (package=app-only): a few seconds here."""
    assert synth.seconds < 60
    manifest = (synth.outdir / "manifest.json").read_text()
    assert "dev" in manifest and "prod" in manifest
