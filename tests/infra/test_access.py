"""Least privilege: each function's role grants exactly its row of infra/access.py, no wildcard
touches data, and what the code was seen doing (here, and across the functional suite) is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import access, config
from infra.tables import table_specs
from tests.infra.cfn import as_list, flatten_join, function_ids, policies, props, ref_id, resources, statements

pytestmark = pytest.mark.xdist_group("infra")

OBSERVED = Path(__file__).with_name("observed_access.json")
DATA_SERVICES = ("dynamodb", "s3", "sqs", "ssm", "secretsmanager", "kms", "firehose", "logs")


def permitted(grants: access.Access, call: str) -> bool:
    """Would the function's role (built from `grants`) allow this recorded call?"""
    action, _, target = call.partition(" ")
    kind, _, name = target.partition(":")
    service = action.split(":")[0]
    if service == "dynamodb":
        table = name.split("/")[0]
        if action in access.TABLE_READ_ACTIONS:
            return table in grants.tables and (kind == "table" or action in ("dynamodb:Query", "dynamodb:Scan"))
        if action in access.TABLE_WRITE_ACTIONS:
            return kind == "table" and table in grants.write
        return False
    if service == "s3":
        prefixes = {
            "s3:GetObject": grants.s3_read,
            "s3:PutObject": grants.s3_write,
            "s3:AbortMultipartUpload": grants.s3_write,  # writers may abort their own multipart uploads
            "s3:DeleteObject": grants.s3_delete,
        }
        return name in prefixes.get(action, ())
    if service == "sqs":
        if action in access.QUEUE_SEND_ACTIONS:
            return name in grants.send_to or (action == "sqs:GetQueueUrl" and name == grants.consume)
        return False  # receiving and deleting are the event source mapping's, on the consumer's role
    if service == "sns":  # mobile push: the actions of the function's row, on the platform applications' endpoints
        return action in grants.sns_push
    if service == "ssm" and action == "ssm:GetParameter":
        return any(name.endswith("/" + config.secret_parameter_name("x", s).rsplit("/", 1)[1]) for s in grants.secrets)
    return False


def denied(calls: dict[str, Any]) -> list[str]:
    grants = access.access_map()
    return [
        f"{function}: {call}"
        for function, seen in calls.items()
        for call in seen
        if function not in grants or not permitted(grants[function], call)
    ]


# --- the map, checked against what the code does ---------------------------------------------------


def test_the_checker_denies_what_the_map_does_not_grant() -> None:
    grants = access.access_map()
    assert permitted(grants["worker"], "dynamodb:UpdateItem table:wallets")
    assert not permitted(grants["reconcile"], "dynamodb:UpdateItem table:wallets")  # read-only
    assert not permitted(grants["worker"], "dynamodb:GetItem table:api_keys")
    assert not permitted(grants["worker"], "s3:PutObject object:statements/")
    assert not permitted(grants["worker"], "sqs:ReceiveMessage queue:jobs")
    assert not permitted(grants["dead_letters"], "dynamodb:DescribeTable table:jobs")
    assert permitted(grants["worker"], "ssm:GetParameter parameter:/imagegen/prod/openai-api-key")
    assert not permitted(grants["worker"], "ssm:GetParameter parameter:/imagegen/prod/stripe-api-key")
    assert denied({"nobody": ["s3:GetObject object:images/"]}) == ["nobody: s3:GetObject object:images/"]


def test_calls_seen_across_the_functional_suite_are_allowed() -> None:
    """`make access-audit` records them (tests/infra/access_audit.py); re-run it when the app changes."""
    observed = json.loads(OBSERVED.read_text())
    assert {"api_handler", "worker"} <= set(observed)
    assert denied(observed) == []
    unknown = [c for calls in observed.values() for c in calls if "?" in c]
    assert unknown == [], "a call on a resource the audit could not name"


def test_every_entry_point_runs_within_its_role(api: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each function's own code path, recorded here, on moto: API, worker, DLQ, billing, schedules."""
    from chalicelib import clock
    from chalicelib.accounting.ledger import adjust, get_wallet
    from chalicelib.aws import client, queue_url
    from chalicelib.billing import gateway
    from chalicelib.local.fake_stripe import FakeStripe
    from chalicelib.local.lambda_events import LocalContext
    from chalicelib.settings import get_settings
    from chalicelib.store.models import JobModel
    from tests.functional.accounting_helpers import UNLIMITED
    from tests.functional.billing_helpers import SECRET, buy_pack, post
    from tests.functional.helpers import call, drain, event_from, purge, receive
    from tests.infra.access_audit import recording

    stripe = FakeStripe()
    monkeypatch.setenv("STRIPE_API_BASE", stripe.start())
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_fake")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    gateway.reset()
    try:
        with recording() as seen:
            import app as chalice_app

            purge()
            t = make_tenant(plan="free", limits=UNLIMITED)
            buy_pack(api, stripe, t)
            for event in stripe.delivered:
                post(api, event)
            assert (
                call(
                    api,
                    "PUT",
                    "/v1/billing/auto-topup",
                    t,
                    {"enabled": True, "threshold": 100, "amount": 500, "monthly_cap": 1000},
                )[0]
                == 200
            )
            now_available = int(get_wallet(t.workspace_id).available)
            adjust(t.workspace_id, 61 - now_available, reason="set up", actor="test", now=clock.now())
            hook = {"url": "http://127.0.0.1:9/refused", "events": ["job.succeeded"]}
            assert call(api, "POST", "/v1/webhook-endpoints", t, hook)[0] == 201
            status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "a lighthouse", "n": 1})
            assert status == 202, body
            drain()  # worker: generates, stores, settles, announces job.succeeded
            status, body, _ = call(api, "GET", f"/v1/jobs/{body['job']['id']}", t)  # presigned image URL
            assert body["job"]["status"] == "succeeded", body
            _export_images(api, t, [image["id"] for image in body["job"]["images"]])
            _train_a_model(api, make_tenant())

            sqs = client("sqs")
            for _ in range(2):  # the job.succeeded event (it queues the auto top-up), then its first (refused) attempt
                hooks = sqs.receive_message(QueueUrl=queue_url(get_settings().webhooks_queue_name), MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                chalice_app.webhooks_worker(
                    event_from(hooks, get_settings().webhooks_queue_name), LocalContext("webhooks_worker", 60)
                )
            billing = sqs.receive_message(
                QueueUrl=queue_url(get_settings().billing_queue_name),
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            assert billing, "the webhooks worker queued an auto top-up (below the threshold)"
            result = chalice_app.billing_worker(
                event_from(billing, get_settings().billing_queue_name), LocalContext("billing_worker", 60)
            )
            assert result == {"batchItemFailures": []}

            status, body, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "dies in the queue", "n": 1})
            assert status == 202
            dead = [m for m in receive() if json.loads(m["Body"])["job_id"] == body["job"]["id"]]
            released = chalice_app.dead_letters(event_from(dead, get_settings().jobs_dlq_name), LocalContext("dead_letters", 60))
            assert released == {"released": 1}
            assert JobModel.get(t.workspace_id, body["job"]["id"]).status == "failed"

            scheduled_event = {
                "version": "0",
                "id": "audit",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": "2026-11-24T12:00:00Z",
                "region": "us-east-1",
                "resources": [],
                "detail": {},
            }
            for name in config.SCHEDULED:
                getattr(chalice_app, name)(scheduled_event, LocalContext(name, 60))
            purge()
    finally:
        stripe.stop()
        gateway.reset()
    assert set(seen) == set(config.FUNCTIONS), "every function's code path ran"
    assert denied(seen) == []


def _export_images(api: Any, tenant: Any, image_ids: list[str]) -> str:
    """A library export: the API queues it, the exports worker builds its zip (and export.ready)."""
    import app as chalice_app
    from chalicelib.local.lambda_events import LocalContext
    from chalicelib.settings import get_settings
    from tests.functional.export_helpers import take_messages
    from tests.functional.helpers import call, event_from

    status, made, _ = call(api, "POST", "/v1/exports", tenant, {"image_ids": image_ids})
    assert status == 202, made
    export_id = made["export"]["id"]
    messages = take_messages(export_id)
    event = event_from(messages, get_settings().exports_queue_name)
    built = chalice_app.exports_worker(event, LocalContext("exports_worker", 300))
    assert built == {"batchItemFailures": []}
    status, done, _ = call(api, "GET", f"/v1/exports/{export_id}", tenant)  # its presigned URL
    assert done["export"]["status"] == "ready", done
    return str(export_id)


# --- the roles in the template = the map ---------------------------------------------------------


def _role_grants(template: dict[str, Any], function: str) -> dict[str, set[str]]:
    """action -> resources (as text) of the function's role."""
    role = ref_id(props(template, function_ids(template)[function])["Role"])
    grants: dict[str, set[str]] = {}
    for statement in statements(template, role):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            grants.setdefault(action, set()).update(flatten_join(r) for r in as_list(statement["Resource"]))
    return grants


def _table_id(template: dict[str, Any], stage: str, suffix: str) -> str:
    for key, res in resources(template, "AWS::DynamoDB::Table").items():
        if res["Properties"]["TableName"] == f"imagegen-{stage}-{suffix}":
            return key
    raise AssertionError(suffix)


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("function", config.FUNCTIONS)
def test_each_role_grants_exactly_its_access_row(synth: Any, stage: str, function: str) -> None:
    template = synth.templates[stage]
    grants = access.access_map()[function]
    role = _role_grants(template, function)

    tables = {"${" + _table_id(template, stage, s) + "}" for s in grants.tables}
    read = {r for r in role.get("dynamodb:GetItem", set())}
    assert read == tables
    indexes = {
        f"{t}/index/{i.name}"
        for spec in table_specs()
        if spec.suffix in grants.tables
        for t in ["${" + _table_id(template, stage, spec.suffix) + "}"]
        for i in spec.indexes
    }
    assert role.get("dynamodb:Query", set()) == tables | indexes
    written = {"${" + _table_id(template, stage, s) + "}" for s in grants.write}
    assert role.get("dynamodb:UpdateItem", set()) == written
    assert role.get("dynamodb:PutItem", set()) == written

    def objects(prefixes: tuple[str, ...]) -> set[str]:
        bucket = next(iter(resources(template, "AWS::S3::Bucket")))
        return {"${" + bucket + "}/" + p + "*" for p in prefixes}

    assert role.get("s3:GetObject", set()) == objects(grants.s3_read)
    assert role.get("s3:PutObject", set()) == objects(grants.s3_write)
    assert role.get("s3:DeleteObject", set()) == objects(grants.s3_delete)
    assert role.get("s3:AbortMultipartUpload", set()) == objects(grants.s3_write)
    allowed = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject")
    assert not any(a.startswith("s3:") and a not in allowed for a in role)

    queues = {res["Properties"]["QueueName"]: key for key, res in resources(template, "AWS::SQS::Queue").items()}

    def queue_refs(keys: tuple[str, ...]) -> set[str]:
        return {"${" + queues[f"imagegen-{stage}-{k.replace('_', '-')}"] + "}" for k in keys}

    on_failure = (grants.on_failure,) if grants.on_failure else ()
    assert role.get("sqs:SendMessage", set()) == queue_refs(grants.send_to + on_failure)
    assert role.get("sqs:ReceiveMessage", set()) == queue_refs((grants.consume,) if grants.consume else ())

    parameters = {
        f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{config.secret_parameter_name(stage, s)}"
        for s in grants.secrets
    }
    assert role.get("ssm:GetParameter", set()) == parameters


def _resolve_sub(text: str) -> str:
    return text.replace("${AWS::Partition}", "aws")


def _assert_scoped(service: str, target: str, statement: dict[str, Any]) -> None:
    """A data action's resource names what it touches: never `*`, and per service the narrow form."""
    assert target != "*", f"{service} on *"
    if service == "kms":
        # only through SSM, only for the listed parameters
        assert target.endswith(":key/*")
        assert statement["Condition"]["StringEquals"]["kms:ViaService"]
        assert statement["Condition"]["ForAnyValue:StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"]
    elif service == "logs":
        assert "log-group:" in target or target.startswith("${"), target
    elif service == "s3":
        assert target.count("/") >= 1 or target.startswith("${"), target


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_wildcards_on_data(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    checked = 0
    for policy in policies(template):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            targets = [flatten_join(r) for r in as_list(statement["Resource"])]
            for action in as_list(statement["Action"]):
                checked += 1
                assert action != "*" and not action.endswith(":*") and "*" not in action, action
                service = action.split(":")[0]
                if service in DATA_SERVICES:  # (X-Ray, not a data service, has no resource-level permissions)
                    for target in targets:
                        _assert_scoped(service, target, statement)
    assert checked > 50
    for role in resources(template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"], "no broad managed policies"
        assert "Policies" not in role["Properties"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_consumer_receives_and_reconcile_only_reads(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    reconcile = _role_grants(template, "reconcile")
    assert not any(a in reconcile for a in (*access.TABLE_WRITE_ACTIONS, "s3:PutObject"))
    failures = next(
        key
        for key, res in resources(template, "AWS::SQS::Queue").items()
        if res["Properties"]["QueueName"] == f"imagegen-{stage}-scheduled-failures"
    )
    assert reconcile["sqs:SendMessage"] == {"${" + failures + "}"}, "reconcile sends only its own failed runs"
    receivers = [fn for fn in config.FUNCTIONS if "sqs:ReceiveMessage" in _role_grants(template, fn)]
    assert sorted(receivers) == sorted(
        ["worker", "dead_letters", "billing_worker", "webhooks_worker", "exports_worker", "trainings_worker"]
    )
    secret_readers = {fn for fn in config.FUNCTIONS if "ssm:GetParameter" in _role_grants(template, fn)}
    # purge_library and exports_worker: the library store's keys, when it is S3-compatible (R2)
    # trainings_worker: the hosted trainer's token and the library store's keys
    readers = {"api_handler", "worker", "billing_worker", "monthly_reset", "purge_library", "exports_worker", "trainings_worker"}
    readers.add("sweep_payouts")  # marketplace payouts: the Stripe key, to ask Stripe about a stranded transfer
    assert secret_readers == readers


def _train_a_model(api: Any, tenant: Any) -> None:
    """Custom model training: the API admits and queues it, the trainings worker learns and settles
    (and announces training.succeeded); a job then names the trained model."""
    from tests.functional.helpers import call
    from tests.functional.training_helpers import run_trainings_worker, seed_pictures, take_messages

    status, made, _ = call(api, "POST", "/v1/trainings", tenant, {"name": "audit", "upload_ids": seed_pictures(tenant)})
    assert status == 202, made
    training_id = made["training"]["id"]
    assert run_trainings_worker(take_messages(training_id)) == {"batchItemFailures": []}
    status, done, _ = call(api, "GET", f"/v1/trainings/{training_id}", tenant)
    assert done["training"]["status"] == "succeeded", done
    assert call(api, "POST", "/v1/jobs", tenant, {"prompt": "styled", "model": training_id})[0] == 202
