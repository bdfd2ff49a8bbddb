"""The library's infrastructure (issue 12): the exports queue and worker, the bucket's expiry
rules for share copies and export zips, the S3-compatible store's deploy options."""

from __future__ import annotations

from typing import Any

import pytest

from infra import config
from tests.infra.cfn import function_ids, props, ref_id, resources

pytestmark = pytest.mark.xdist_group("infra")

STAGES = ("dev", "prod")


def _queue(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    queues = resources(template, "AWS::SQS::Queue").items()
    return next((key, res["Properties"]) for key, res in queues if res["Properties"]["QueueName"] == name)


@pytest.mark.parametrize("stage", STAGES)
def test_share_copies_and_export_zips_expire_by_themselves(synth: Any, stage: str) -> None:
    from chalicelib.library import rules

    bucket = next(iter(resources(synth.templates[stage], "AWS::S3::Bucket").values()))["Properties"]
    by_id = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    shared = by_id["shared-copies-expire"]
    assert (shared["Prefix"], shared["ExpirationInDays"]) == ("images/shared/", rules.SHARED_COPY_DAYS)
    assert shared["Status"] == "Enabled"
    exports = by_id["exports-expire"]
    assert (exports["Prefix"], exports["ExpirationInDays"]) == ("exports/", rules.EXPORT_RETENTION.days + 1)
    assert by_id["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1


@pytest.mark.parametrize("stage", STAGES)
def test_a_redelivered_export_finds_its_lease_run_out(synth: Any, stage: str) -> None:
    """The queue shows a message again only after the worker's lease on the build ran out, and
    the worker's last try is the queue's last receive (it then fails the export itself)."""
    from chalicelib.library import export_worker

    template = synth.templates[stage]
    _, queue = _queue(template, f"imagegen-{stage}-exports")
    worker = props(template, function_ids(template)["exports_worker"])
    assert worker["Timeout"] + 60 <= export_worker.LEASE_S <= queue["VisibilityTimeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == config.EXPORTS_MAX_RECEIVE_COUNT == export_worker.MAX_RECEIVES
    mapping = next(
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if ref_id(m["Properties"]["FunctionName"]) == function_ids(template)["exports_worker"]
    )
    assert mapping["BatchSize"] == 1  # one export per invocation: each may take most of the timeout


def test_the_s3_compatible_store_is_configured_by_context() -> None:
    from infra.options import DeployOptions

    context = {
        "library_s3_endpoint_url": "https://account.r2.cloudflarestorage.com",
        "library_bucket": "showcases",
        "library_s3_region": "auto",
    }
    options = DeployOptions.from_context(context.get, "prod")
    assert (options.library_s3_endpoint_url, options.library_bucket, options.library_s3_region) == tuple(context.values())
    for bad in ({"library_s3_endpoint_url": "http://r2.example"}, {"library_s3_endpoint_url": "https://r2.example"}):
        with pytest.raises(ValueError, match="library"):
            DeployOptions.from_context(bad.get, "prod")
    assert {"LIBRARY_S3_ACCESS_KEY_ID", "LIBRARY_S3_SECRET_ACCESS_KEY"} <= set(config.SECRETS)  # from SSM, never the template
