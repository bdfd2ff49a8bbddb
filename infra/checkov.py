"""checkov's findings on the synthesized templates that are deliberate, each with its reason.

`make synth` runs checkov (PyPI) on both templates and fails on any finding not listed here.
The reasons are written into each resource's `Metadata.checkov.skip`, which checkov reads, so a
reviewer of a template sees why a check does not apply where it does not. Anything checkov
raises that is not in this table is a real finding: fix the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import CfnResource, IAspect
from constructs import IConstruct

Reason = str
Applies = Callable[[CfnResource], bool]


def _always(_: CfnResource) -> bool:
    return True


def _unversioned(resource: CfnResource) -> bool:
    return getattr(resource, "versioning_configuration", None) is None


SUPPRESSIONS: dict[str, dict[str, tuple[Reason, Applies]]] = {
    "AWS::DynamoDB::Table": {
        "CKV_AWS_119": (
            "encrypted at rest with the AWS owned key; a customer managed key adds a key policy to run "
            "and a per-request cost, and no access path it would close",
            _always,
        ),
    },
    "AWS::Logs::LogGroup": {
        "CKV_AWS_158": (
            "CloudWatch Logs encrypts every group at rest; the app logs no secrets or API keys "
            "(tests/functional/test_observability.py)",
            _always,
        ),
    },
    "AWS::SQS::Queue": {
        "CKV_AWS_27": ("encrypted at rest with SQS managed keys (SqsManagedSseEnabled), which checkov does not count", _always),
    },
    "AWS::SNS::Topic": {
        "CKV_AWS_26": (
            "alarm notifications only; CloudWatch cannot publish to a topic under the AWS managed SNS key, "
            "and its state changes are not sensitive",
            _always,
        ),
    },
    "AWS::S3::Bucket": {
        "CKV_AWS_18": (
            "objects are reached only through the functions' roles and presigned URLs, both in CloudTrail; "
            "server access logs would need a second bucket per bucket",
            _always,
        ),
        "CKV_AWS_21": (
            "unversioned only outside prod (protect_data=False): dev data is disposable; prod is versioned "
            "with noncurrent expiry",
            _unversioned,
        ),
    },
    "AWS::SecretsManager::Secret": {
        "CKV_AWS_149": (
            "the log shipping key, under the AWS managed key: only the Firehose delivery role may read it "
            "(IAM), and a customer managed key would add a key policy to keep in step",
            _always,
        ),
    },
    "AWS::Serverless::Api": {
        "CKV_AWS_120": (
            "answers are per API key and change with every job (balances, job states): a cache would "
            "serve stale or another tenant's data",
            _always,
        ),
    },
    "AWS::Serverless::Function": {
        "CKV_AWS_116": (
            "no function is invoked asynchronously without a destination: the API is synchronous, queue "
            "consumers dead-letter on their source queues, schedules use on-failure destinations "
            "(checkov only knows DeadLetterQueue)",
            _always,
        ),
        "CKV_AWS_117": (
            "the functions reach only AWS public endpoints and the providers' APIs; a VPC would add NAT "
            "cost and cold-start latency and guard no private resource",
            _always,
        ),
        "CKV_AWS_173": (
            "the environment holds no secret (secrets are SSM SecureStrings, only their names are here); "
            "Lambda encrypts it at rest with the AWS managed key",
            _always,
        ),
        "CKV_AWS_115": (
            "reserved concurrency is a deploy option (reserved_concurrency); the API is bounded by stage "
            "throttling, the queue consumers by their mappings' maximum concurrency",
            _always,
        ),
    },
}


def skips_for(resource: CfnResource) -> list[dict[str, str]]:
    checks = SUPPRESSIONS.get(resource.cfn_resource_type, {})
    return [{"id": check, "comment": reason} for check, (reason, applies) in sorted(checks.items()) if applies(resource)]


@jsii.implements(IAspect)
class CheckovSuppressions:
    """Aspect: write `Metadata.checkov.skip` on every resource a suppression above applies to."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, CfnResource):
            skips = skips_for(node)
            if skips:
                node.add_metadata("checkov", {"skip": skips})


def suppressed(template: dict[str, Any]) -> dict[str, list[str]]:
    """Logical id -> the checks its metadata skips (for tests and reports)."""
    return {
        key: [s["id"] for s in res.get("Metadata", {}).get("checkov", {}).get("skip", [])]
        for key, res in template["Resources"].items()
        if res.get("Metadata", {}).get("checkov")
    }
