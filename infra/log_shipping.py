"""Optional log shipping: every function's log group -> Kinesis Firehose -> an HTTP endpoint.

Off by default; `-c log_shipping=true -c log_shipping_url=https://...` switches it on (Datadog's
Firehose intake, a Loki or Elastic gateway behind HTTPS, ...). The endpoint's API key lives in a
Secrets Manager secret this stack creates empty (`{"api_key": "..."}` is set by hand, see
docs/infra.md), so no key is ever in the template. Firehose decompresses the CloudWatch Logs
envelopes and extracts the JSON log lines, so the endpoint receives the app's own lines; records
it could not deliver go to a private backup bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

if TYPE_CHECKING:
    from infra.config import StageConfig
    from infra.options import DeployOptions


class LogShipping(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, options: DeployOptions, log_groups: list[logs.LogGroup]
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "EndpointKey",
            secret_name=f"/{stage.prefix.replace('-', '/')}/log-shipping-key",
            description='API key of the log shipping HTTP endpoint, as {"api_key": "..."} (set by hand)',
        )
        self.backup = s3.Bucket(
            self,
            "FailedRecords",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(14))],
            removal_policy=RemovalPolicy.RETAIN if stage.protect_data else RemovalPolicy.DESTROY,
        )
        errors = logs.LogGroup(
            self, "DeliveryErrors", retention=logs.RetentionDays.TWO_WEEKS, removal_policy=RemovalPolicy.DESTROY
        )
        errors_stream = logs.LogStream(self, "DeliveryErrorsStream", log_group=errors, log_stream_name="http-endpoint")

        firehose_role = iam.Role(self, "FirehoseRole", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"))
        # What Firehose documents for an S3 destination, on this bucket only.
        firehose_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.backup.bucket_arn],
            )
        )
        firehose_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], resources=[self.backup.arn_for_objects("*")]
            )
        )
        firehose_role.add_to_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.secret.secret_arn])
        )
        firehose_role.add_to_policy(iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[errors.log_group_arn]))

        self.stream = firehose.CfnDeliveryStream(
            self,
            "Stream",
            delivery_stream_name=f"{stage.prefix}-logs",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            http_endpoint_destination_configuration=firehose.CfnDeliveryStream.HttpEndpointDestinationConfigurationProperty(
                endpoint_configuration=firehose.CfnDeliveryStream.HttpEndpointConfigurationProperty(
                    url=options.log_shipping_url or "", name=options.log_shipping_name
                ),
                secrets_manager_configuration=firehose.CfnDeliveryStream.SecretsManagerConfigurationProperty(
                    enabled=True, secret_arn=self.secret.secret_arn, role_arn=firehose_role.role_arn
                ),
                request_configuration=firehose.CfnDeliveryStream.HttpEndpointRequestConfigurationProperty(
                    content_encoding="GZIP",
                    common_attributes=[
                        firehose.CfnDeliveryStream.HttpEndpointCommonAttributeProperty(
                            attribute_name="stage", attribute_value=stage.name
                        )
                    ],
                ),
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(interval_in_seconds=60, size_in_m_bs=1),
                retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(duration_in_seconds=300),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="Decompression",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="CompressionFormat", parameter_value="GZIP"
                                )
                            ],
                        ),
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="CloudWatchLogProcessing",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="DataMessageExtraction", parameter_value="true"
                                )
                            ],
                        ),
                    ],
                ),
                role_arn=firehose_role.role_arn,
                s3_backup_mode="FailedDataOnly",
                s3_configuration=firehose.CfnDeliveryStream.S3DestinationConfigurationProperty(
                    bucket_arn=self.backup.bucket_arn,
                    role_arn=firehose_role.role_arn,
                    prefix="failed/",
                    error_output_prefix="errors/",
                    compression_format="GZIP",
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True, log_group_name=errors.log_group_name, log_stream_name=errors_stream.log_stream_name
                ),
            ),
        )
        self.stream.add_resource_dependency(_policy_of(firehose_role))  # Firehose checks its role on creation

        # CloudWatch Logs puts into the stream with its own role.
        logs_role = iam.Role(self, "SubscriptionRole", assumed_by=iam.ServicePrincipal("logs.amazonaws.com"))
        logs_role.add_to_policy(
            iam.PolicyStatement(actions=["firehose:PutRecord", "firehose:PutRecordBatch"], resources=[self.stream.attr_arn])
        )
        for index, group in enumerate(log_groups):
            subscription = logs.CfnSubscriptionFilter(
                self,
                f"Subscription{index}",
                log_group_name=group.log_group_name,
                filter_pattern="",
                destination_arn=self.stream.attr_arn,
                role_arn=logs_role.role_arn,
            )
            subscription.add_resource_dependency(_policy_of(logs_role))  # CloudWatch Logs tests a put on creation


def _policy_of(role: iam.Role) -> CfnResource:
    return role.node.find_child("DefaultPolicy").node.default_child
