"""Monitoring as code: the dashboard, the alarms (to one SNS topic) and saved Logs Insights queries.

The app emits EMF metrics in the `ImageGen` namespace with `service` on every metric. Alarms
cannot use SEARCH, so they name every dimension: where a dimension is open-ended (error codes,
routes) the alarm uses AWS's own metrics (API Gateway, SQS, Lambda) or the finite, known values
(providers from the registry, provider error codes from the adapters); the dashboard uses SEARCH
and Metrics Insights freely.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra import access, config

if TYPE_CHECKING:
    from aws_cdk import aws_sqs as sqs

    from infra.config import StageConfig
    from infra.options import DeployOptions

FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)

# ProviderErrors `code` values the adapters raise (chalicelib/generation/providers/*); tests/infra
# checks this list against the adapters' source. content_blocked is the user's prompt, not a fault.
PROVIDER_FAULT_CODES = (
    "provider_error",
    "provider_timeout",
    "provider_unavailable",
    "provider_rate_limited",
    "provider_auth_failed",
    "invalid_provider_request",
)
WEBHOOK_ROUTE = "POST /webhooks/stripe"
SERVER_ERROR_STATUSES = ("500", "502", "503", "504")
DENIAL_CODES = ("rate_limited", "insufficient_credits", "quota_exceeded", "account_banned")


def warn_unsubscribed(scope: Construct, prefix: str) -> None:
    """No one would hear the alarms: say so on stderr and as a CDK warning (the cdk CLI prints those)."""
    message = (
        f"{prefix}: the alarm topic {prefix}-alarms has no subscriber, so no alarm reaches anyone. "
        f"Add -c alarm_email=ops@example.com (or alarm_email:<stage>=...), or subscribe to the topic yourself."
    )
    Annotations.of(scope).add_warning_v2("imagegen:alarms-unsubscribed", message)
    print(f"\n{'!' * 100}\n!! WARNING {message}\n{'!' * 100}\n", file=sys.stderr)


def providers() -> tuple[str, ...]:
    from chalicelib.generation.providers import REGISTRY

    return tuple(REGISTRY)


class Monitoring(Construct):
    """Dashboard `<prefix>`, alarms `<prefix>-*` to topic `<prefix>-alarms`, queries `<prefix>/*`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        options: DeployOptions,
        log_groups: dict[str, logs.LogGroup],
        queues: dict[str, sqs.Queue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        self.namespace = config.metrics_namespace()
        self.service = config.service_name()
        self.log_groups = log_groups
        self.queues = queues
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{stage.prefix}-alarms",
            enforce_ssl=True,
            display_name=f"imagegen {stage.name} alarms",
        )
        for email in options.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        if not options.alarm_emails:
            warn_unsubscribed(self, stage.prefix)
        self.alarms: list[cw.Alarm] = []
        self._alarms()
        self.dashboard = self._dashboard()
        self.queries = self._queries()

    # --- metrics -----------------------------------------------------------------------------

    def app_metric(
        self, name: str, statistic: str = "Sum", period: Duration = FIVE_MINUTES, label: str | None = None, **dimensions: str
    ) -> cw.Metric:
        """An EMF metric of the app with ALL its dimensions named (`service` is always one)."""
        return cw.Metric(
            namespace=self.namespace,
            metric_name=name,
            statistic=statistic,
            period=period,
            label=label,
            dimensions_map={"service": self.service, **dimensions},
        )

    def search(
        self,
        name: str,
        dimensions: tuple[str, ...],
        statistic: str = "Sum",
        period: Duration = FIVE_MINUTES,
        label: str = "",
        total: bool = False,
    ) -> cw.MathExpression:
        """Every series of a metric whatever its open-ended dimension values (dashboard only)."""
        schema = ",".join((self.namespace, *sorted({"service", *dimensions})))
        expression = f"SEARCH('{{{schema}}} MetricName=\"{name}\"', '{statistic}', {int(period.to_seconds())})"
        if total:
            expression = f"SUM({expression})"
        return cw.MathExpression(expression=expression, label=label, period=period)

    def insights(self, sql: str, label: str, period: Duration = FIVE_MINUTES) -> cw.MathExpression:
        """A Metrics Insights query (dashboard only)."""
        return cw.MathExpression(expression=sql, label=label, period=period)

    def function_metric(self, function: str, name: str, statistic: str = "Sum") -> cw.Metric:
        return cw.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            statistic=statistic,
            period=FIVE_MINUTES,
            dimensions_map={"FunctionName": self.stage.function_name(function)},
            label=function,
        )

    def api_metric(self, name: str, statistic: str = "Sum", label: str | None = None) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            statistic=statistic,
            period=FIVE_MINUTES,
            label=label,
            dimensions_map={"ApiName": self.stage.prefix, "Stage": self.api_stage},
        )

    @property
    def api_stage(self) -> str:
        return str(config.chalice_config()["stages"][self.stage.name]["api_gateway_stage"])

    def queue_metric(self, queue: str, name: str, statistic: str = "Maximum", label: str | None = None) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/SQS",
            metric_name=name,
            statistic=statistic,
            period=FIVE_MINUTES,
            label=label or queue,
            dimensions_map={"QueueName": self.queues[queue].queue_name},
        )

    # --- alarms ------------------------------------------------------------------------------

    def _alarm(
        self,
        key: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        description: str,
        periods: int = 1,
        datapoints: int | None = None,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            f"Alarm-{key}",
            alarm_name=f"{self.stage.prefix}-{key}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints or periods,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=f"{description} Runbook: docs/infra.md#alarms",
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _alarms(self) -> None:
        stage = self.stage
        # API: share of 5xx answers, once there is enough traffic to mean something.
        self._alarm(
            "api-5xx-rate",
            cw.MathExpression(
                expression="IF(requests >= 20, 100 * errors / requests, 0)",
                using_metrics={"errors": self.api_metric("5XXError"), "requests": self.api_metric("Count")},
                label="5xx %",
                period=FIVE_MINUTES,
            ),
            threshold=stage.api_5xx_percent,
            periods=3,
            datapoints=2,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"More than {stage.api_5xx_percent}% of API requests answered 5xx.",
        )

        # Dead letters: the dead_letters function drains the jobs DLQ (failing each job, releasing
        # its hold), so "DLQ depth > 0" is the count of dead-lettered jobs, plus a DLQ that stays
        # non-empty (its handler is failing). Nothing drains the billing DLQ: any message is news.
        self._alarm(
            "jobs-dead-lettered",
            self.app_metric("JobsDeadLettered"),
            threshold=1,
            description="A job failed 3 deliveries (worker crash or timeout) and was dead-lettered.",
        )
        self._alarm(
            "jobs-dlq-not-draining",
            self.queue_metric(access.JOBS_DLQ, "ApproximateNumberOfMessagesVisible"),
            threshold=1,
            periods=3,
            description="Messages sit in the jobs DLQ: the dead_letters function is failing.",
        )
        self._alarm(
            "billing-dlq-depth",
            self.queue_metric(access.BILLING_DLQ, "ApproximateNumberOfMessagesVisible"),
            threshold=1,
            description="An auto top-up request failed 5 times and was dead-lettered.",
        )
        self._alarm(
            "scheduled-failures",
            self.queue_metric(access.SCHEDULED_FAILURES, "ApproximateNumberOfMessagesVisible"),
            threshold=1,
            description="A scheduled run (monthly reset, stale holds, reconcile) failed 3 times; "
            "its event waits in the scheduled-failures queue.",
        )

        self._alarm(
            "jobs-oldest-message-age",
            self.queue_metric(access.JOBS, "ApproximateAgeOfOldestMessage"),
            threshold=stage.oldest_job_age_s,
            periods=2,
            description=f"The oldest queued job waited over {stage.oldest_job_age_s} s: workers are behind or stuck.",
        )

        for provider in providers():
            errors = {
                f"e{i}": self.app_metric("ProviderErrors", provider=provider, code=code)
                for i, code in enumerate(PROVIDER_FAULT_CODES)
            }
            runs = self.app_metric("ProviderLatencyMs", "SampleCount", provider=provider)
            total = " + ".join(f"FILL({key}, 0)" for key in errors)
            self._alarm(
                f"provider-{provider}-error-rate",
                cw.MathExpression(
                    expression=f"IF(runs >= 5, 100 * ({total}) / runs, 0)",
                    using_metrics={**errors, "runs": runs},
                    label=f"{provider} errors per 100 provider runs",
                    period=FIVE_MINUTES,
                ),
                threshold=stage.provider_error_percent,
                periods=3,
                datapoints=2,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{provider}: provider faults above {stage.provider_error_percent} per 100 runs.",
            )
            self._alarm(
                f"provider-{provider}-job-p95",
                self.app_metric("JobDurationMs", "p95", provider=provider),
                threshold=stage.job_p95_ms,
                periods=3,
                datapoints=2,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{provider}: job duration p95 above {stage.job_p95_ms} ms.",
            )

        webhook = {"bad": self.app_metric("WebhookEvents", type="unknown", result="bad_signature")}
        webhook.update(
            {f"s{status}": self.app_metric("Requests", route=WEBHOOK_ROUTE, status=status) for status in SERVER_ERROR_STATUSES}
        )
        self._alarm(
            "webhook-failures",
            cw.MathExpression(
                expression=" + ".join(f"FILL({key}, 0)" for key in webhook),
                using_metrics=webhook,
                label="webhook failures",
                period=Duration.minutes(15),
            ),
            threshold=stage.webhook_failures,
            description="Stripe webhooks failing (bad signatures or 5xx): check the webhook secret and the logs.",
        )

        self._alarm(
            "reconcile-drift",
            self.app_metric("ReconcileDrift", "Maximum", period=ONE_HOUR),
            threshold=0,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description="Reconciliation found wallets whose ledger does not sum to their balance.",
        )
        self._webhook_alarms()
        self._exports_alarms()
        self._trainings_alarms()
        consumers = (config.WORKER, config.DEAD_LETTERS, config.BILLING_WORKER, config.WEBHOOKS_WORKER, config.EXPORTS_WORKER)
        consumers = (*consumers, config.TRAININGS_WORKER)
        for function in (*config.SCHEDULED, *consumers):
            self._alarm(
                f"{function.replace('_', '-')}-errors",
                self.function_metric(function, "Errors"),
                threshold=1,
                periods=1 if function in config.SCHEDULED else 3,
                datapoints=1 if function in config.SCHEDULED else 2,
                description=f"The {function} function is failing (errors or timeouts).",
            )

    def _webhook_alarms(self) -> None:
        """Outgoing webhooks: our failure rate, a stuck queue, dead-lettered messages.

        Receivers fail on their own (that is what retries are for): only a high rate over 15 min
        is news. Retry messages wait up to 15 min (SQS's maximum delay), so the queue's oldest
        message is alarmed at twice that."""
        failed = self.app_metric("WebhookAttempts", outcome="failed")
        succeeded = self.app_metric("WebhookAttempts", outcome="ok")
        rate = cw.MathExpression(
            expression="100 * failed / MAX([failed + succeeded, 1])",
            using_metrics={"failed": failed, "succeeded": succeeded},
            label="webhook attempts failing (%)",
            period=FIVE_MINUTES,
        )
        self._alarm(
            "webhook-failure-rate",
            rate,
            threshold=50,
            periods=3,
            comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description="More than half of the webhook attempts failed for 15 minutes (receivers down, or our SSRF/TLS checks).",
        )
        self._alarm(
            "webhooks-queue-age",
            self.queue_metric(access.WEBHOOKS_QUEUE, "ApproximateAgeOfOldestMessage"),
            threshold=1800,
            periods=2,
            description="Webhook messages wait over 30 minutes: the webhooks worker is not keeping up or failing.",
        )
        self._alarm(
            "webhooks-dlq-depth",
            self.queue_metric(access.WEBHOOKS_DLQ, "ApproximateNumberOfMessagesVisible"),
            threshold=1,
            description="A webhooks message failed 5 times in our own code and was dead-lettered.",
        )
        self._alarm(
            "outgoing-events-lost",
            self.app_metric("WebhookEventsLost"),
            threshold=1,
            description="An outgoing event could be neither queued nor kept in the outbox (SQS and DynamoDB "
            "both failed): its receivers will miss it (error_code webhook_event_lost names it).",
        )

    def _exports_alarms(self) -> None:
        """Library exports: a build that crashed its worker 3 times (timeouts, memory) lands in the
        exports DLQ (a build that merely failed fails its export instead)."""
        self._alarm(
            "exports-dlq-depth",
            self.queue_metric(access.EXPORTS_DLQ, "ApproximateNumberOfMessagesVisible"),
            threshold=1,
            description="An export's worker crashed 3 times (timeout or memory) and its message was dead-lettered.",
        )

    def _trainings_alarms(self) -> None:
        """Custom model training: a training that crashed its worker 3 times lands in the trainings
        DLQ (one that merely failed fails and is refunded; the sweeper refunds a stranded hold)."""
        self._alarm(
            "trainings-dlq-depth",
            self.queue_metric(access.TRAININGS_DLQ, "ApproximateNumberOfMessagesVisible"),
            threshold=1,
            description="A training's worker crashed 3 times (timeout or memory) and its message was dead-lettered.",
        )

    # --- dashboard ---------------------------------------------------------------------------

    def _dashboard(self) -> cw.Dashboard:
        stage, ns = self.stage, self.namespace
        api_logs = self.log_groups[config.API_HANDLER].log_group_name
        worker_logs = self.log_groups[config.WORKER].log_group_name
        per_provider = providers()
        rows: list[list[cw.IWidget]] = [
            [
                cw.TextWidget(
                    markdown=f"# imagegen {stage.name}\nAPI, jobs, providers and credits. Alarms: topic "
                    f"`{stage.prefix}-alarms`. Runbooks: docs/infra.md.",
                    width=24,
                    height=2,
                )
            ],
            [
                cw.GraphWidget(
                    title="API traffic (API Gateway)",
                    width=8,
                    left=[
                        self.api_metric("Count", label="requests"),
                        self.api_metric("4XXError", label="4xx"),
                        self.api_metric("5XXError", label="5xx"),
                    ],
                ),
                cw.GraphWidget(
                    title="Requests by status (app)",
                    width=8,
                    stacked=True,
                    left=[
                        self.insights(
                            f'SELECT SUM(Requests) FROM SCHEMA("{ns}", route, service, status) GROUP BY status', "status"
                        )
                    ],
                ),
                cw.GraphWidget(
                    title="API latency",
                    width=8,
                    left=[self.api_metric("Latency", "p50", label="p50"), self.api_metric("Latency", "p95", label="p95")],
                ),
            ],
            [
                cw.LogQueryWidget(
                    title="Errors by code (API and worker logs)",
                    width=8,
                    log_group_names=[api_logs, worker_logs],
                    view=cw.LogQueryVisualizationType.TABLE,
                    query_lines=[
                        "fields error_code",
                        "filter ispresent(error_code)",
                        "stats count(*) as errors by error_code",
                        "sort errors desc",
                    ],
                ),
                cw.GraphWidget(
                    title="Admission denials by reason/scope",
                    width=8,
                    stacked=True,
                    left=[self.search("AdmissionsDenied", ("reason", "scope"), label="")],
                ),
                cw.GraphWidget(
                    title="Jobs failed by provider/code",
                    width=8,
                    stacked=True,
                    left=[
                        self.search("JobsFailed", ("provider", "code"), label=""),
                        self.search("WorkerRecordFailures", ("code",), label=""),
                    ],
                ),
            ],
            [
                cw.GraphWidget(
                    title="Jobs queue depth",
                    width=8,
                    left=[
                        self.queue_metric(access.JOBS, "ApproximateNumberOfMessagesVisible", label="visible"),
                        self.queue_metric(access.JOBS, "ApproximateNumberOfMessagesNotVisible", label="in flight"),
                        self.queue_metric(access.JOBS, "ApproximateNumberOfMessagesDelayed", label="deferred"),
                    ],
                ),
                cw.GraphWidget(
                    title="Oldest queued job (s)",
                    width=8,
                    left=[
                        self.queue_metric(access.JOBS, "ApproximateAgeOfOldestMessage", label="jobs"),
                        self.queue_metric(access.BILLING_QUEUE, "ApproximateAgeOfOldestMessage", label="billing"),
                    ],
                    left_annotations=[cw.HorizontalAnnotation(value=stage.oldest_job_age_s, label="alarm")],
                ),
                cw.GraphWidget(
                    title="Dead letters",
                    width=8,
                    left=[
                        self.queue_metric(access.JOBS_DLQ, "ApproximateNumberOfMessagesVisible", label="jobs DLQ"),
                        self.queue_metric(access.BILLING_DLQ, "ApproximateNumberOfMessagesVisible", label="billing DLQ"),
                        self.app_metric("JobsDeadLettered", label="jobs dead-lettered"),
                    ],
                ),
            ],
            [
                cw.GraphWidget(
                    title="Job duration p50/p95 (ms)",
                    width=8,
                    left=[
                        self.app_metric("JobDurationMs", stat, label=f"{p} {stat}", provider=p)
                        for p in per_provider
                        for stat in ("p50", "p95")
                    ],
                ),
                cw.GraphWidget(
                    title="Provider latency p50/p95 (ms)",
                    width=8,
                    left=[
                        self.app_metric("ProviderLatencyMs", stat, label=f"{p} {stat}", provider=p)
                        for p in per_provider
                        for stat in ("p50", "p95")
                    ],
                ),
                cw.GraphWidget(
                    title="Provider errors per 100 runs",
                    width=8,
                    left=[
                        cw.MathExpression(
                            expression=f'100 * SUM(SEARCH(\'{{{ns},code,provider,service}} MetricName="ProviderErrors" '
                            f"provider=\"{p}\"', 'Sum', 300)) / runs_{p}",
                            using_metrics={f"runs_{p}": self.app_metric("ProviderLatencyMs", "SampleCount", provider=p)},
                            label=p,
                            period=FIVE_MINUTES,
                        )
                        for p in per_provider
                    ],
                ),
            ],
            [
                cw.GraphWidget(
                    title="Credits spent per hour",
                    width=8,
                    stacked=True,
                    period=ONE_HOUR,
                    left=[self.app_metric("CreditsSpent", period=ONE_HOUR, label=p, provider=p) for p in per_provider],
                ),
                cw.GraphWidget(
                    title="Queue wait p95 (ms) and deferrals",
                    width=8,
                    left=[self.app_metric("QueueWaitMs", "p95", label=f"{p} wait p95", provider=p) for p in per_provider],
                    right=[self.search("JobsDeferred", ("provider",), label="")],
                ),
                cw.GraphWidget(
                    title="Billing: webhooks, purchases, top-ups",
                    width=8,
                    left=[self.search("WebhookEvents", ("type", "result"), label="")],
                    right=[
                        self.search("CreditsPurchased", ("kind",), label=""),
                        self.app_metric("AutoTopupsQueued", label="top-ups queued"),
                        self.app_metric("AutoTopupsRequested", label="top-ups requested"),
                    ],
                ),
            ],
            [
                cw.GraphWidget(
                    title="Lambda errors", width=8, left=[self.function_metric(fn, "Errors") for fn in config.FUNCTIONS]
                ),
                cw.GraphWidget(
                    title="Lambda throttles and worker concurrency",
                    width=8,
                    left=[self.function_metric(fn, "Throttles") for fn in config.FUNCTIONS],
                    right=[self.function_metric(config.WORKER, "ConcurrentExecutions", "Maximum")],
                ),
                cw.GraphWidget(
                    title="Housekeeping: stale holds, drift, cold starts",
                    width=8,
                    left=[
                        self.app_metric("StaleHoldsReleased", label="stale holds released"),
                        self.app_metric("ReconcileDrift", "Maximum", period=ONE_HOUR, label="wallets drifted"),
                    ],
                    right=[self.search("ColdStart", ("function",), label="")],
                ),
            ],
            [cw.AlarmStatusWidget(title="Alarms", width=24, alarms=self.alarms)],
        ]
        return cw.Dashboard(self, "Dashboard", dashboard_name=stage.prefix, widgets=rows, default_interval=Duration.hours(6))

    # --- saved Logs Insights queries ---------------------------------------------------------

    def _queries(self) -> list[logs.CfnQueryDefinition]:
        every = [group.log_group_name for group in self.log_groups.values()]
        api = [self.log_groups[config.API_HANDLER].log_group_name]
        worker = [self.log_groups[config.WORKER].log_group_name]
        denial_codes = ", ".join(f'"{code}"' for code in DENIAL_CODES)
        queries = {
            # Set the time window in the console; replace the workspace id in the first filter.
            "failures-for-workspace": (
                every,
                "\n".join(
                    [
                        "fields @timestamp, level, message, error_code, status, route, job_id, user_id,"
                        " request_id, correlation_id",
                        'filter workspace_id = "ws_REPLACE_ME"',
                        'filter level in ["ERROR", "WARNING", "CRITICAL"] or status >= 400 or ispresent(error_code)',
                        "sort @timestamp desc",
                        "limit 500",
                    ]
                ),
            ),
            "slowest-jobs": (
                worker,
                "\n".join(
                    [
                        "fields @timestamp, job_id, workspace_id, latency_ms, images, correlation_id",
                        'filter message = "job succeeded"',
                        "sort latency_ms desc",
                        "limit 50",
                    ]
                ),
            ),
            "webhook-failures": (
                every,
                "\n".join(
                    [
                        "fields @timestamp, level, message, status, error_code, event_type, event_id, outcome, request_id",
                        f'filter route = "{WEBHOOK_ROUTE}"',
                        'filter status >= 400 or level in ["ERROR", "CRITICAL"] or outcome = "ignored"',
                        "sort @timestamp desc",
                        "limit 200",
                    ]
                ),
            ),
            "admission-denials-by-reason": (
                api,
                "\n".join(
                    [
                        "fields error_code, workspace_id",
                        f'filter message = "request" and error_code in [{denial_codes}]',
                        "stats count(*) as denials, count_distinct(workspace_id) as workspaces by error_code",
                        "sort denials desc",
                    ]
                ),
            ),
            "errors-by-code": (
                every,
                "\n".join(
                    [
                        "fields error_code, route",
                        "filter ispresent(error_code)",
                        "stats count(*) as errors by error_code, route",
                        "sort errors desc",
                    ]
                ),
            ),
        }
        return [
            logs.CfnQueryDefinition(
                self, f"Query-{name}", name=f"{self.stage.prefix}/{name}", query_string=text, log_group_names=groups
            )
            for name, (groups, text) in queries.items()
        ]
