"""Dashboard, alarms, saved queries and log shipping: present, wired, and about metrics and log
fields the app really emits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra import config, monitoring
from infra.options import DeployOptions
from tests.infra.cfn import flatten_join, ref_id, resources
from tests.infra.conftest import LOG_SHIPPING_URL

pytestmark = pytest.mark.xdist_group("infra")

REPO = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")


def emitted_metrics() -> dict[str, set[str]]:
    """Metric name -> dimension names, read from every `count(...)` call in the app's source."""
    out: dict[str, set[str]] = {}
    sources = [REPO / "app.py", *sorted((REPO / "chalicelib").rglob("*.py"))]
    for path in sources:
        if "local" in path.parts:
            continue
        for match in re.finditer(r'\bcount\(\s*"(\w+)"([^\n]*)', path.read_text()):
            name, rest = match.groups()
            out.setdefault(name, {"service"}).update(re.findall(r"\b(\w+)=(?!=)", rest))
    out.setdefault("ColdStart", {"service"}).add("function")  # note_cold_start passes it through a variable
    return out


def test_metric_reader_sees_the_app_metrics() -> None:
    metrics = emitted_metrics()
    assert metrics["Requests"] == {"service", "route", "status"}
    assert metrics["ProviderErrors"] == {"service", "provider", "code"}
    assert metrics["JobsDeadLettered"] == {"service"}
    assert metrics["ReconcileDrift"] == {"service"}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {res["Properties"]["AlarmName"]: res["Properties"] for res in resources(template, "AWS::CloudWatch::Alarm").values()}


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    if "MetricName" in alarm:
        return [{"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm.get("Dimensions", [])}]
    return [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]


@pytest.mark.parametrize("stage", STAGES)
def test_the_alarms_exist_and_notify_the_topic(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    alarms = _alarms(template)
    prefix = f"imagegen-{stage}-"
    expected = {
        "api-5xx-rate",
        "jobs-dead-lettered",
        "jobs-dlq-not-draining",
        "billing-dlq-depth",
        "jobs-oldest-message-age",
        "webhook-failures",
        "reconcile-drift",
        "scheduled-failures",
        "webhook-failure-rate",
        "webhooks-queue-age",
        "webhooks-dlq-depth",
        "outgoing-events-lost",
        "exports-dlq-depth",
        "trainings-dlq-depth",
        "trainings-worker-errors",
        *(f"provider-{p}-error-rate" for p in monitoring.providers()),
        *(f"provider-{p}-job-p95" for p in monitoring.providers()),
        *(
            f"{fn.replace('_', '-')}-errors"
            for fn in (*config.SCHEDULED, "worker", "dead_letters", "billing_worker", "webhooks_worker", "exports_worker")
        ),
    }
    assert set(alarms) == {prefix + name for name in expected}
    topic = next(iter(resources(template, "AWS::SNS::Topic")))
    for name, alarm in alarms.items():
        assert [ref_id(a) for a in alarm["AlarmActions"]] == [topic], name
        assert [ref_id(a) for a in alarm["OKActions"]] == [topic], name
        assert "Runbook: docs/infra.md#alarms" in alarm["AlarmDescription"]
    drift = alarms[prefix + "reconcile-drift"]
    assert (drift["MetricName"], drift["Statistic"], drift["Threshold"], drift["ComparisonOperator"]) == (
        "ReconcileDrift",
        "Maximum",
        0,
        "GreaterThanThreshold",
    )
    dead = alarms[prefix + "jobs-dead-lettered"]
    assert (dead["MetricName"], dead["Threshold"], dead["ComparisonOperator"]) == (
        "JobsDeadLettered",
        1,
        "GreaterThanOrEqualToThreshold",
    )


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_name_every_dimension_of_the_app_metrics(synth: Any, stage: str) -> None:
    """An alarm on an EMF metric matches nothing unless it names ALL the dimensions it is emitted with."""
    emitted = emitted_metrics()
    checked = 0
    for name, alarm in _alarms(synth.templates[stage]).items():
        for metric in _alarm_metrics(alarm):
            if metric["Namespace"] != config.metrics_namespace():
                continue
            dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert metric["MetricName"] in emitted, f"{name}: the app emits no {metric['MetricName']}"
            assert set(dims) == emitted[metric["MetricName"]], name
            assert dims["service"] == config.service_name()
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("stage", STAGES)
def test_aws_metric_alarms_point_at_this_stages_resources(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    alarms = _alarms(template)
    queues = {key: res["Properties"]["QueueName"] for key, res in resources(template, "AWS::SQS::Queue").items()}
    [age] = _alarm_metrics(alarms[f"imagegen-{stage}-jobs-oldest-message-age"])
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert queues[ref_id(age["Dimensions"][0]["Value"])] == f"imagegen-{stage}-jobs"
    [stuck] = _alarm_metrics(alarms[f"imagegen-{stage}-jobs-dlq-not-draining"])
    assert queues[ref_id(stuck["Dimensions"][0]["Value"])] == f"imagegen-{stage}-jobs-dlq"
    api_dims = {d["Name"]: d["Value"] for m in _alarm_metrics(alarms[f"imagegen-{stage}-api-5xx-rate"]) for d in m["Dimensions"]}
    api = next(iter(resources(template, "AWS::Serverless::Api").values()))["Properties"]
    assert api_dims == {"ApiName": api["Name"], "Stage": api["StageName"]}
    for fn in config.SCHEDULED:
        [errors] = _alarm_metrics(alarms[f"imagegen-{stage}-{fn.replace('_', '-')}-errors"])
        assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": f"imagegen-{stage}-{fn.replace('_', '-')}"}]


def test_provider_fault_codes_are_the_adapters_codes() -> None:
    from chalicelib.generation.providers.common import code_for_status

    codes = {code_for_status(status)[0] for status in range(100, 600)}
    for path in (REPO / "chalicelib" / "generation" / "providers").glob("*.py"):
        codes |= set(re.findall(r'ProviderError\(\s*"(\w+)"', path.read_text()))
    assert set(monitoring.PROVIDER_FAULT_CODES) == codes - {"content_blocked"}


# --- dashboard --------------------------------------------------------------------------------


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body = next(iter(resources(template, "AWS::CloudWatch::Dashboard").values()))["Properties"]["DashboardBody"]
    return json.loads(flatten_join(body))


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_shows_what_operators_need(synth: Any, stage: str) -> None:
    widgets = _dashboard(synth.templates[stage])["widgets"]
    titles = {w["properties"].get("title") for w in widgets}
    for title in (
        "API traffic (API Gateway)",
        "Requests by status (app)",
        "Errors by code (API and worker logs)",
        "Admission denials by reason/scope",
        "Jobs queue depth",
        "Oldest queued job (s)",
        "Dead letters",
        "Job duration p50/p95 (ms)",
        "Provider latency p50/p95 (ms)",
        "Provider errors per 100 runs",
        "Credits spent per hour",
    ):
        assert title in titles
    text = json.dumps(widgets)
    for needle in (
        "AdmissionsDenied",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "JobDurationMs",
        "ProviderLatencyMs",
        "ProviderErrors",
        "CreditsSpent",
        '"p95"',
        '"p50"',
        "stats count(*) as errors by error_code",
    ):
        assert needle in text, needle
    credits = next(w for w in widgets if w["properties"].get("title") == "Credits spent per hour")
    assert credits["properties"]["period"] == 3600
    emitted = emitted_metrics()
    for name in re.findall(r'MetricName=\\"(\w+)\\"', text):
        assert name in emitted, name


# --- saved queries ----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_saved_queries_cover_the_operators_questions(synth: Any, stage: str) -> None:
    template = synth.templates[stage]
    groups = set(resources(template, "AWS::Logs::LogGroup"))
    queries = {q["Properties"]["Name"]: q["Properties"] for q in resources(template, "AWS::Logs::QueryDefinition").values()}
    expected = {"failures-for-workspace", "slowest-jobs", "webhook-failures", "admission-denials-by-reason", "errors-by-code"}
    assert set(queries) == {f"imagegen-{stage}/{name}" for name in expected}
    for query in queries.values():
        assert query["LogGroupNames"] and all(ref_id(g) in groups for g in query["LogGroupNames"])
    text = {name.split("/")[1]: q["QueryString"] for name, q in queries.items()}
    assert "filter workspace_id" in text["failures-for-workspace"] and "status >= 400" in text["failures-for-workspace"]
    assert "sort latency_ms desc" in text["slowest-jobs"]
    assert (
        "stats count(*) as denials" in text["admission-denials-by-reason"]
        and "by error_code" in text["admission-denials-by-reason"]
    )


def test_queries_use_what_the_app_logs() -> None:
    """The messages, route and error codes the queries filter on exist in the app."""
    import app as chalice_app
    from chalicelib.api import errors

    worker = (REPO / "chalicelib" / "generation" / "worker.py").read_text()
    assert 'logger.info("job succeeded", extra={"latency_ms"' in worker
    assert 'log("request", extra={"status"' in (REPO / "app.py").read_text()
    method, path = monitoring.WEBHOOK_ROUTE.split(" ")
    assert method in chalice_app.app.routes[path]
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ApiError) and isinstance(getattr(cls, "code", None), str)
    }
    assert set(monitoring.DENIAL_CODES) <= codes
    assert set(config.STAGE_CONFIGS) == set(config.STAGES)


# --- log shipping -----------------------------------------------------------------------------


def test_log_shipping_is_off_by_default(dev: dict[str, Any]) -> None:
    assert resources(dev, "AWS::KinesisFirehose::DeliveryStream") == {}
    assert resources(dev, "AWS::Logs::SubscriptionFilter") == {}


def test_log_shipping_subscribes_every_function_log_group(prod: dict[str, Any]) -> None:
    streams = resources(prod, "AWS::KinesisFirehose::DeliveryStream")
    assert len(streams) == 1
    stream_id, stream = next(iter(streams.items()))
    http = stream["Properties"]["HttpEndpointDestinationConfiguration"]
    assert http["EndpointConfiguration"]["Url"] == LOG_SHIPPING_URL
    assert "AccessKey" not in http["EndpointConfiguration"], "the key comes from Secrets Manager"
    assert http["SecretsManagerConfiguration"]["Enabled"] is True
    assert http["S3BackupMode"] == "FailedDataOnly"
    function_groups = {
        key
        for key, res in resources(prod, "AWS::Logs::LogGroup").items()
        if str(res["Properties"].get("LogGroupName", "")).startswith("/aws/lambda/")
    }
    filters = [f["Properties"] for f in resources(prod, "AWS::Logs::SubscriptionFilter").values()]
    assert {ref_id(f["LogGroupName"]) for f in filters} == function_groups and len(filters) == len(config.FUNCTIONS)
    assert all(ref_id(f["DestinationArn"]) == stream_id for f in filters)


def test_deploy_options_are_validated() -> None:
    def options(**context: str) -> DeployOptions:
        return DeployOptions.from_context(context.get, "prod")

    assert options().log_shipping is False and options().package == "full"
    assert options(**{"log_shipping": "true", "log_shipping_url": "https://x.test"}).log_shipping is True
    assert options(**{"alarm_email:prod": "ops@example.test", "alarm_email": "other@example.test"}).alarm_emails == (
        "ops@example.test",
    )
    assert options(alarm_email="a@example.test, b@example.test").alarm_emails == ("a@example.test", "b@example.test")
    assert options().default_provider == "gemini" and options().reserved_concurrency is None
    assert options(reserved_concurrency="false").reserved_concurrency is False
    assert options(default_provider="local", allow_local_provider="true").allow_local_provider is True
    with pytest.raises(ValueError, match="allow_local_provider"):
        options(default_provider="local")
    with pytest.raises(ValueError, match="default_provider"):
        options(default_provider="dalle")
    with pytest.raises(ValueError, match="log_shipping_url"):
        options(log_shipping="true")
    with pytest.raises(ValueError, match="log_shipping_url"):
        options(log_shipping="true", log_shipping_url="http://plain.test")
    with pytest.raises(ValueError, match="package"):
        options(package="zip")


def test_command_line_context_is_parsed() -> None:
    from infra.app import context_from_argv

    assert context_from_argv(["-c", "stage=dev", "--context", "package=app-only"]) == {"stage": "dev", "package": "app-only"}
    with pytest.raises(SystemExit):
        context_from_argv(["-c", "stage"])
    with pytest.raises(SystemExit):
        context_from_argv(["dev"])


def test_unknown_stage_is_refused(tmp_path: Path) -> None:
    from infra.synth import build_app

    with pytest.raises(ValueError, match="unknown stage"):
        build_app({"stage": "staging", "package": "app-only"}, outdir=str(tmp_path))
