"""One stage of the app: data, queues, the Chalice app with a least-privilege role per function,
its event sources, and its monitoring.

`ChaliceApp` (infra/chalice_app.py) runs `chalice package` and includes the SAM template it
writes, so the functions, the REST API and the EventBridge schedules (`@app.schedule` in app.py)
come from the app itself, with the runtime and package of infra/runtime.py and infra/packaging.py;
this stack names the functions, gives each its own role and environment, configures the API stage
(infra/api.py), and wires the queues to them with event source mappings (partial batch responses,
bounded concurrency) and the schedules to an on-failure queue.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, CfnResource, Duration, Fn, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import access, api, config, packaging
from infra.chalice_app import ChaliceApp
from infra.checkov import CheckovSuppressions
from infra.config import StageConfig
from infra.log_shipping import LogShipping
from infra.monitoring import Monitoring
from infra.options import DeployOptions
from infra.people import Mail, People, warn_no_mail
from infra.tables import build_tables, table_specs

ESM_BATCH_SIZE = {config.WORKER: 10, config.DEAD_LETTERS: 10, config.BILLING_WORKER: 10, config.WEBHOOKS_WORKER: 10}
# An export streams up to 1 GiB within the worker's timeout: one per invocation, a few at once.
ESM_BATCH_SIZE[config.EXPORTS_WORKER] = 1
EXPORTS_CONCURRENCY = 5
# A local training reads at most 50 images (seconds); a hosted one is a call and a poll: one per
# invocation, a few at once (a workspace's running cap is enforced by the slots anyway).
ESM_BATCH_SIZE[config.TRAININGS_WORKER] = 1
TRAININGS_CONCURRENCY = 5
WEBHOOKS_CONCURRENCY = 10  # receivers are slow (up to 13 s an attempt, 10 a batch: the 180 s timeout): more pollers, bounded
SMALL_CONSUMER_CONCURRENCY = 2  # the smallest ScalingConfig allows: DLQ and billing are low volume
NONCURRENT_DAYS = 30  # prod: how long an overwritten or deleted object's old version is kept


class ImageGenStack(Stack):
    """`imagegen-<stage>`: everything one stage of the app needs."""

    def __init__(self, scope: Construct, stage: StageConfig, options: DeployOptions, **kwargs: Any) -> None:
        # The construct id is the stage name: chalice.cdk.Chalice packages the stage named by its scope.
        super().__init__(
            scope,
            stage.name,
            stack_name=stage.prefix,
            description=f"imagegen {stage.name}: API, workers, schedules, data and monitoring",
            **kwargs,
        )
        self.stage = stage
        self.options = options
        Tags.of(self).add("app", config.APP_NAME)
        Tags.of(self).add("stage", stage.name)
        Tags.of(self).add("package", options.package)

        retain = RemovalPolicy.RETAIN if stage.protect_data else RemovalPolicy.DESTROY
        self.tables = build_tables(self, stage.prefix, protect=stage.protect_data)
        self.bucket = self._images_bucket(retain)
        self.queues = self._queues()
        self.log_groups = {
            fn: logs.LogGroup(
                self,
                f"Logs-{fn}",
                log_group_name=f"/aws/lambda/{stage.function_name(fn)}",
                retention=_retention(stage.log_retention_days),
                removal_policy=retain,
            )
            for fn in config.FUNCTIONS
        }
        self.people = People(self, "People", prefix=stage.prefix, protect=stage.protect_data)
        self.mail = Mail(self, "Mail", mail_from=options.mail_from) if options.mail_from else None
        if self.mail is None:
            warn_no_mail(self, stage.prefix)
        self.roles = {fn: self._role(fn, grants) for fn, grants in access.access_map().items()}
        for fn, grants in access.access_map().items():
            if grants.send_mail and self.mail is not None:
                self.mail.grant_send(self.roles[fn])
            if grants.sns_push and options.push_applications():  # mobile push (issue 16)
                self.roles[fn].add_to_policy(self._push_statement(grants.sns_push))
        self.chalice = self._app()
        self._event_sources()
        self._on_failure_destinations()
        self.monitoring = Monitoring(
            self, "Monitoring", stage=stage, options=options, log_groups=self.log_groups, queues=self.queues
        )
        if options.log_shipping:
            LogShipping(self, "LogShipping", stage=stage, options=options, log_groups=list(self.log_groups.values()))
        Aspects.of(self).add(CheckovSuppressions())

    # --- data ------------------------------------------------------------------------------

    def _images_bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        """Private, encrypted, TLS-only; temporary objects expire, statements age to cheaper storage.
        Where data is protected (prod), versioned: an overwritten or deleted image stays recoverable
        for NONCURRENT_DAYS."""
        versioned = self.stage.protect_data
        rules = [
            s3.LifecycleRule(id="tmp-expire", prefix=access.TMP_PREFIX, expiration=Duration.days(1)),
            s3.LifecycleRule(
                id="statements-infrequent-access",
                prefix=access.STATEMENTS_PREFIX,
                transitions=[
                    s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS, transition_after=Duration.days(30)),
                ],
            ),
            s3.LifecycleRule(id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            *_library_rules(),
        ]
        if versioned:
            rules.append(
                s3.LifecycleRule(
                    id="noncurrent-expire",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_DAYS),
                    expired_object_delete_marker=True,
                )
            )
        return s3.Bucket(
            self,
            "Images",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=versioned,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal,
            lifecycle_rules=rules,
        )

    def _queues(self) -> dict[str, sqs.Queue]:
        """Jobs and billing queues, each with its dead-letter queue; names follow the app's settings."""
        prefix = self.stage.prefix

        def queue(
            key: str, name: str, *, consumer: str | None, retention_days: int, dlq: sqs.Queue | None = None, max_receive: int = 0
        ) -> sqs.Queue:
            visibility = self.stage.visibility_timeout_s(consumer) if consumer else 30
            return sqs.Queue(
                self,
                f"Queue-{key}",
                queue_name=name,
                visibility_timeout=Duration.seconds(visibility),
                retention_period=Duration.days(retention_days),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive) if dlq else None,
            )

        jobs_dlq = queue(access.JOBS_DLQ, f"{prefix}-jobs-dlq", consumer=config.DEAD_LETTERS, retention_days=14)
        jobs = queue(
            access.JOBS,
            f"{prefix}-jobs",
            consumer=config.WORKER,
            retention_days=4,
            dlq=jobs_dlq,
            max_receive=config.JOBS_MAX_RECEIVE_COUNT,
        )
        billing_dlq = queue(access.BILLING_DLQ, f"{prefix}-billing-dlq", consumer=None, retention_days=14)
        billing = queue(
            access.BILLING_QUEUE,
            f"{prefix}-billing",
            consumer=config.BILLING_WORKER,
            retention_days=4,
            dlq=billing_dlq,
            max_receive=config.BILLING_MAX_RECEIVE_COUNT,
        )
        webhooks_dlq = queue(access.WEBHOOKS_DLQ, f"{prefix}-webhooks-dlq", consumer=None, retention_days=14)
        webhooks = queue(
            access.WEBHOOKS_QUEUE,
            f"{prefix}-webhooks",
            consumer=config.WEBHOOKS_WORKER,
            retention_days=4,
            dlq=webhooks_dlq,
            max_receive=config.WEBHOOKS_MAX_RECEIVE_COUNT,
        )
        exports_dlq = queue(access.EXPORTS_DLQ, f"{prefix}-exports-dlq", consumer=None, retention_days=14)
        exports = queue(
            access.EXPORTS_QUEUE,
            f"{prefix}-exports",
            consumer=config.EXPORTS_WORKER,
            retention_days=4,
            dlq=exports_dlq,
            max_receive=config.EXPORTS_MAX_RECEIVE_COUNT,
        )
        trainings_dlq = queue(access.TRAININGS_DLQ, f"{prefix}-trainings-dlq", consumer=None, retention_days=14)
        trainings = queue(
            access.TRAININGS_QUEUE,
            f"{prefix}-trainings",
            consumer=config.TRAININGS_WORKER,
            retention_days=4,
            dlq=trainings_dlq,
            max_receive=config.TRAININGS_MAX_RECEIVE_COUNT,
        )
        failures = queue(access.SCHEDULED_FAILURES, f"{prefix}-scheduled-failures", consumer=None, retention_days=14)
        return {
            access.TRAININGS_QUEUE: trainings,
            access.TRAININGS_DLQ: trainings_dlq,
            access.EXPORTS_QUEUE: exports,
            access.EXPORTS_DLQ: exports_dlq,
            access.JOBS: jobs,
            access.JOBS_DLQ: jobs_dlq,
            access.BILLING_QUEUE: billing,
            access.BILLING_DLQ: billing_dlq,
            access.WEBHOOKS_QUEUE: webhooks,
            access.WEBHOOKS_DLQ: webhooks_dlq,
            access.SCHEDULED_FAILURES: failures,
        }

    # --- permissions -----------------------------------------------------------------------

    def _role(self, function: str, grants: access.Access) -> iam.Role:
        """The function's own role: its log group, X-Ray, and exactly the data of its access row."""
        role = iam.Role(
            self,
            f"Role-{function}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{self.stage.function_name(function)}: least privilege (infra/access.py)",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_groups[function].log_group_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="XRay", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
        )
        indexes = {spec.suffix: [index.name for index in spec.indexes] for spec in table_specs()}
        if grants.tables:
            tables = [self.tables[suffix] for suffix in grants.tables]
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadTables", actions=list(access.TABLE_READ_ACTIONS), resources=[table.table_arn for table in tables]
                )
            )
            index_arns = [f"{self.tables[suffix].table_arn}/index/{name}" for suffix in grants.tables for name in indexes[suffix]]
            if index_arns:
                role.add_to_policy(
                    iam.PolicyStatement(sid="QueryIndexes", actions=list(access.INDEX_READ_ACTIONS), resources=index_arns)
                )
        if grants.write:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="WriteTables",
                    actions=list(access.TABLE_WRITE_ACTIONS),
                    resources=[self.tables[suffix].table_arn for suffix in sorted(grants.write)],
                )
            )
        for sid, actions, prefixes in (
            ("ReadObjects", ["s3:GetObject"], grants.s3_read),
            # a writer may abort its own multipart uploads (an export's zip that failed midway)
            ("WriteObjects", ["s3:PutObject", "s3:AbortMultipartUpload"], grants.s3_write),
            ("DeleteObjects", ["s3:DeleteObject"], grants.s3_delete),
        ):
            if prefixes:
                role.add_to_policy(
                    iam.PolicyStatement(
                        sid=sid, actions=actions, resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]
                    )
                )
        if grants.send_to:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="SendMessages",
                    actions=list(access.QUEUE_SEND_ACTIONS),
                    resources=[self.queues[key].queue_arn for key in grants.send_to],
                )
            )
        if grants.on_failure:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="OnFailureDestination", actions=["sqs:SendMessage"], resources=[self.queues[grants.on_failure].queue_arn]
                )
            )
        if grants.consume:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ConsumeQueue",
                    actions=list(access.QUEUE_CONSUME_ACTIONS),
                    resources=[self.queues[grants.consume].queue_arn],
                )
            )
        if grants.secrets:
            self._grant_secrets(role, grants.secrets)
        return role

    def _push_statement(self, actions: tuple[str, ...]) -> iam.PolicyStatement:
        """Mobile push: the configured platform applications and their endpoints only."""
        apps = list(self.options.push_applications())
        endpoints = [arn.replace(":app/", ":endpoint/", 1) + "/*" for arn in apps]
        return iam.PolicyStatement(sid="MobilePush", actions=sorted(actions), resources=apps + endpoints)

    def _grant_secrets(self, role: iam.Role, secrets: tuple[str, ...]) -> None:
        """Read these SSM SecureStrings, and decrypt them only through SSM."""
        parameters = [self.parameter_arn(name) for name in secrets]
        role.add_to_policy(iam.PolicyStatement(sid="ReadSecrets", actions=["ssm:GetParameter"], resources=parameters))
        # SecureStrings are encrypted with the aws/ssm key (or another): decrypt only through SSM,
        # and only for these parameters (SSM puts the parameter ARN in the encryption context).
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptSecrets",
                actions=["kms:Decrypt"],
                resources=[self.format_arn(service="kms", resource="key", resource_name="*")],
                conditions={
                    "StringEquals": {"kms:ViaService": f"ssm.{self.region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {"kms:EncryptionContext:PARAMETER_ARN": parameters},
                },
            )
        )

    def parameter_arn(self, secret: str) -> str:
        name = config.secret_parameter_name(self.stage.name, secret)
        return self.format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))

    # --- the app ---------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        """The settings the app reads (chalicelib/settings.py, secrets.py), the same for every function."""
        stage, options = self.stage, self.options
        env = {
            "STAGE": stage.name,
            "TABLE_PREFIX": stage.prefix,
            "JOBS_QUEUE_NAME": self.queues[access.JOBS].queue_name,
            "JOBS_DLQ_NAME": self.queues[access.JOBS_DLQ].queue_name,
            "BILLING_QUEUE_NAME": self.queues[access.BILLING_QUEUE].queue_name,
            "WEBHOOKS_QUEUE_NAME": self.queues[access.WEBHOOKS_QUEUE].queue_name,
            "EXPORTS_QUEUE_NAME": self.queues[access.EXPORTS_QUEUE].queue_name,
            "TRAININGS_QUEUE_NAME": self.queues[access.TRAININGS_QUEUE].queue_name,
            "IMAGES_BUCKET": self.bucket.bucket_name,
            "APP_VERSION": options.app_version,
            "WORKER_TIMEOUT_S": str(stage.timeout_s(config.WORKER)),
            "HOLD_MAX_AGE_S": str(stage.hold_max_age_s),
            "PRESIGN_EXPIRY_S": str(stage.presign_expiry_s),
            "FAULT_INJECTION": "false",
            "DEFAULT_PROVIDER": options.default_provider,
        }
        if options.allow_local_provider:
            env["ALLOW_LOCAL_PROVIDER"] = "true"
        env.update({f"{name}_PARAM": config.secret_parameter_name(stage.name, name) for name in config.SECRETS})
        optional = {
            "SENTRY_DSN": options.sentry_dsn,
            "BILLING_HOOK_URL": options.billing_hook_url,
            "GOOGLE_CLOUD_PROJECT": options.google_cloud_project,
            "GOOGLE_CLOUD_LOCATION": options.google_cloud_location,
            # the library's S3-compatible store (R2): its credentials are secrets (SSM), never here
            "LIBRARY_S3_ENDPOINT_URL": options.library_s3_endpoint_url,
            "LIBRARY_BUCKET": options.library_bucket,
            "LIBRARY_S3_REGION": options.library_s3_region,
            # mobile push (issue 16): SNS platform applications
            "PUSH_APNS_APPLICATION_ARN": options.push_apns_application_arn,
            "PUSH_FCM_APPLICATION_ARN": options.push_fcm_application_arn,
        }
        env.update({key: value for key, value in optional.items() if value})
        env.update(self.people.environment())
        if options.mail_from:
            env["MAIL_FROM"] = options.mail_from
        env.update(self._trainer_environment())
        return env

    def _trainer_environment(self) -> dict[str, str]:
        """Custom model training: which trainer runs (the hosted one's token: REPLICATE_API_TOKEN_PARAM)."""
        options = self.options
        env = {"TRAINER": options.trainer}
        if options.trainer == "replicate":
            env["REPLICATE_TRAINER"] = str(options.replicate_trainer)
            env["REPLICATE_DESTINATION"] = str(options.replicate_destination)
        return env

    def _app(self) -> ChaliceApp:
        stage_config = {
            "environment_variables": self._environment(),
            # Roles are this stack's (one per function); Chalice must not make its own.
            "manage_iam_role": False,
            "iam_role_arn": self.roles[config.API_HANDLER].role_arn,
        }
        app = ChaliceApp(
            self,
            "App",
            stage=self.stage.name,
            stage_config=stage_config,
            package=packaging.package_for(self.options.package),
            api_handler_name=self.stage.function_name(config.API_HANDLER),
        )
        reserve = self.options.reserved_concurrency
        reserve = self.stage.reserve_concurrency if reserve is None else reserve
        for function in config.FUNCTIONS:
            resource = app.get_resource(config.logical_id(function))
            resource.add_property_override("FunctionName", self.stage.function_name(function))
            resource.add_property_override("Role", self.roles[function].role_arn)
            # Where PUBLIC_BASE_URL is not given, the API's own invoke URL (see infra/chalice_app.py).
            resource.add_property_override("Environment.Variables.PUBLIC_BASE_URL", self.public_base_url())
            if not reserve:
                resource.add_property_deletion_override("ReservedConcurrentExecutions")
            resource.add_resource_dependency(_policy_of(self.roles[function]))  # its policy exists before its first invocation
            resource.add_resource_dependency(self.log_groups[function].node.default_child)  # retention from line one
        self._api_stage(app.get_resource("RestAPI"))
        return app

    def public_base_url(self) -> str:
        if self.options.public_base_url:
            return self.options.public_base_url
        return Fn.sub(f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{self.api_stage_name}")

    @property
    def api_stage_name(self) -> str:
        return str(config.chalice_config()["stages"][self.stage.name]["api_gateway_stage"])

    def _api_stage(self, rest_api: CfnResource) -> None:
        """Name, X-Ray, throttling, JSON access logs and the gateway responses (infra/api.py)."""
        stage, options = self.stage, self.options
        rest_api.add_property_override("Name", stage.prefix)  # ApiName: the dimension of the API's metrics
        rest_api.add_property_override("DefinitionBody.info.title", stage.prefix)
        rest_api.add_property_override("TracingEnabled", True)  # X-Ray from the API stage on (functions: `xray` in config.json)
        rest_api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",  # no per-method metrics: billed per metric, the API's own suffice
                    "ThrottlingRateLimit": options.api_rate_limit or stage.api_rate_limit,
                    "ThrottlingBurstLimit": options.api_burst_limit or stage.api_burst_limit,
                }
            ],
        )
        self.access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            log_group_name=f"/aws/apigateway/{stage.prefix}/access",
            retention=_retention(stage.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if stage.protect_data else RemovalPolicy.DESTROY,
        )
        rest_api.add_property_override(
            "AccessLogSetting", {"DestinationArn": self.access_logs.log_group_arn, "Format": api.access_log_format()}
        )
        rest_api.add_property_override("GatewayResponses", api.gateway_responses())
        if options.api_logs_role:
            rest_api.add_resource_dependency(api.account_logs_role(self))

    def function_resource(self, function: str) -> CfnResource:
        return self.chalice.get_resource(config.logical_id(function))

    def _event_sources(self) -> None:
        """Queues -> functions, reporting partial batch failures so one bad record fails alone."""
        wiring = (
            (config.WORKER, access.JOBS, self.stage.worker_max_concurrency),
            (config.DEAD_LETTERS, access.JOBS_DLQ, SMALL_CONSUMER_CONCURRENCY),
            (config.BILLING_WORKER, access.BILLING_QUEUE, SMALL_CONSUMER_CONCURRENCY),
            (config.WEBHOOKS_WORKER, access.WEBHOOKS_QUEUE, WEBHOOKS_CONCURRENCY),
            (config.EXPORTS_WORKER, access.EXPORTS_QUEUE, EXPORTS_CONCURRENCY),
            (config.TRAININGS_WORKER, access.TRAININGS_QUEUE, TRAININGS_CONCURRENCY),
        )
        for function, queue_key, concurrency in wiring:
            mapping = lambda_.CfnEventSourceMapping(
                self,
                f"Source-{function}",
                function_name=self.function_resource(function).ref,
                event_source_arn=self.queues[queue_key].queue_arn,
                batch_size=ESM_BATCH_SIZE[function],
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=lambda_.CfnEventSourceMapping.ScalingConfigProperty(maximum_concurrency=concurrency),
            )
            mapping.add_resource_dependency(_policy_of(self.roles[function]))  # Lambda checks the role can read the queue

    def _on_failure_destinations(self) -> None:
        """EventBridge invokes the scheduled functions asynchronously: after 2 retries, the event
        goes to the scheduled-failures queue (alarmed) instead of vanishing."""
        for function in config.SCHEDULED:
            target = access.access_map()[function].on_failure
            assert target, f"{function} has no on-failure destination in infra/access.py"
            invoke_config = lambda_.CfnEventInvokeConfig(
                self,
                f"OnFailure-{function}",
                function_name=self.function_resource(function).ref,
                qualifier="$LATEST",
                maximum_retry_attempts=2,
                maximum_event_age_in_seconds=6 * 3600,
                destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                    on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=self.queues[target].queue_arn)
                ),
            )
            invoke_config.add_resource_dependency(_policy_of(self.roles[function]))  # Lambda checks the role may send


def _policy_of(role: iam.Role) -> CfnResource:
    """The role's inline policy resource (the role itself is already a dependency through `Fn::GetAtt`)."""
    return role.node.find_child("DefaultPolicy").node.default_child


def _library_rules() -> list[s3.LifecycleRule]:
    """The library's objects that expire by themselves (chalicelib/library/objects.py
    `lifecycle_rules`, which `python -m chalicelib.ops library-lifecycle` puts on an R2 bucket):
    share copies (named per day, so live links copy again) and export zips (the purge deletes them
    on time; this is the backstop)."""
    from chalicelib.library.objects import lifecycle_rules

    return [
        s3.LifecycleRule(id=rule["ID"], prefix=rule["Filter"]["Prefix"], expiration=Duration.days(rule["Expiration"]["Days"]))
        for rule in lifecycle_rules()
        if "Expiration" in rule
    ]


def _retention(days: int) -> logs.RetentionDays:
    by_days = {
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        90: logs.RetentionDays.THREE_MONTHS,
        180: logs.RetentionDays.SIX_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
    }
    return by_days[days]
