"""Deploy-time options, read from CDK context (`-c key=value` or cdk.json), validated once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from infra import packaging

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


@dataclass(frozen=True)
class DeployOptions:
    """Everything about a deployment that is not the same for every account.

    None of these are secrets: secrets live in SSM SecureString parameters (docs/infra.md).
    """

    package: str = packaging.FULL
    app_version: str = "0.1.0"
    public_base_url: str | None = None  # where checkout redirects land (a custom domain in prod)
    sentry_dsn: str | None = None
    billing_hook_url: str | None = None
    google_cloud_project: str | None = None
    google_cloud_location: str | None = None
    alarm_emails: tuple[str, ...] = ()  # subscribed to the alarm topic; none = a loud synth warning
    default_provider: str = "gemini"  # DEFAULT_PROVIDER; `local` (placeholder images) only with allow_local_provider
    allow_local_provider: bool = False
    reserved_concurrency: bool | None = None  # None = the stage's default (infra/config.py)
    api_rate_limit: float | None = None  # None = the stage's default
    api_burst_limit: int | None = None
    api_logs_role: bool = True  # set the account's API Gateway CloudWatch role (needed for access logs)
    log_shipping: bool = False
    log_shipping_url: str | None = None  # Firehose HTTP endpoint (Datadog / Loki / Elastic gateway)
    log_shipping_name: str = "logs"
    # the library's S3-compatible store (Cloudflare R2...): uploads, thumbnails, share copies and
    # export zips go there; its access key pair is read from SSM (docs/infra.md "Secrets")
    library_s3_endpoint_url: str | None = None
    library_bucket: str | None = None
    library_s3_region: str | None = None  # "auto" for R2
    mail_from: str | None = None  # teams: the sender of invitation mail (its SES identity is created)
    # mobile push (issue 16): the SNS platform applications of APNs and FCM (made once per account
    # with the Apple key / Firebase credentials, docs/infra.md); unset, ios/android devices are refused
    push_apns_application_arn: str | None = None
    push_fcm_application_arn: str | None = None
    # custom model training (issue 16): TRAINER, and the hosted trainer's REPLICATE_TRAINER /
    # REPLICATE_DESTINATION; its token is a secret (SSM `/imagegen/<stage>/replicate-api-token`)
    trainer: str = "local"
    replicate_trainer: str | None = None  # "<owner>/<name>/versions/<id>"
    replicate_destination: str | None = None  # "<owner>/<model>"

    @classmethod
    def from_context(cls, get: Any, stage: str) -> DeployOptions:
        """`get(key)` is `node.try_get_context`; a `key:<stage>` value wins over a plain `key`."""

        def value(key: str) -> Any:
            staged = get(f"{key}:{stage}")
            return staged if staged is not None else get(key)

        def text(key: str) -> str | None:
            v = value(key)
            return str(v) if v not in (None, "") else None

        options = cls(
            package=text("package") or packaging.FULL,
            app_version=text("app_version") or "0.1.0",
            public_base_url=text("public_base_url"),
            sentry_dsn=text("sentry_dsn"),
            billing_hook_url=text("billing_hook_url"),
            google_cloud_project=text("google_cloud_project"),
            google_cloud_location=text("google_cloud_location"),
            alarm_emails=tuple(e.strip() for e in (text("alarm_email") or "").split(",") if e.strip()),
            default_provider=text("default_provider") or "gemini",
            allow_local_provider=_flag(value("allow_local_provider")),
            reserved_concurrency=_flag(value("reserved_concurrency")) if text("reserved_concurrency") else None,
            api_rate_limit=float(text("api_rate_limit") or 0) or None,
            api_burst_limit=int(text("api_burst_limit") or 0) or None,
            api_logs_role=_flag(text("api_logs_role") or "true"),
            log_shipping=_flag(value("log_shipping")),
            log_shipping_url=text("log_shipping_url"),
            log_shipping_name=text("log_shipping_name") or "logs",
            library_s3_endpoint_url=text("library_s3_endpoint_url"),
            library_bucket=text("library_bucket"),
            library_s3_region=text("library_s3_region"),
            mail_from=text("mail_from"),
            push_apns_application_arn=text("push_apns_application_arn"),
            push_fcm_application_arn=text("push_fcm_application_arn"),
            trainer=text("trainer") or "local",
            replicate_trainer=text("replicate_trainer"),
            replicate_destination=text("replicate_destination"),
        )
        if options.package not in packaging.MODES:
            raise ValueError(f"context package={options.package!r}: expected one of {', '.join(packaging.MODES)}")
        options.check_provider()
        if options.mail_from is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", options.mail_from):
            raise ValueError(f"context mail_from={options.mail_from!r}: expected an email address")
        if options.log_shipping and not (options.log_shipping_url or "").startswith("https://"):
            raise ValueError("log_shipping=true needs log_shipping_url=https://... (Firehose only posts over HTTPS)")
        options.check_library_store()
        options.check_push_applications()
        options.check_trainer()
        return options

    def check_push_applications(self) -> None:
        """Mobile push: each configured value is an SNS platform application ARN of its kind."""
        for key, kinds, value in (
            ("push_apns_application_arn", "APNS|APNS_SANDBOX", self.push_apns_application_arn),
            ("push_fcm_application_arn", "GCM", self.push_fcm_application_arn),
        ):
            if value is not None and not re.fullmatch(rf"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{{12}}:app/({kinds})/[\w.-]+", value):
                raise ValueError(f"context {key}={value!r}: expected an SNS platform application ARN (arn:aws:sns:…:app/…)")

    def push_applications(self) -> tuple[str, ...]:
        """The configured platform applications (their endpoints are what the roles may touch)."""
        return tuple(arn for arn in (self.push_apns_application_arn, self.push_fcm_application_arn) if arn)

    def check_trainer(self) -> None:
        """A known trainer; the hosted one names the trainer version to run and where models go."""
        from chalicelib.training.trainers import REGISTRY

        if self.trainer not in REGISTRY:
            raise ValueError(f"context trainer={self.trainer!r}: expected one of {', '.join(REGISTRY)}")
        hosted = (self.replicate_trainer, self.replicate_destination)
        if self.trainer != "replicate":
            if any(hosted):
                raise ValueError("replicate_trainer / replicate_destination are read only with trainer=replicate")
            return
        if not re.fullmatch(r"[\w.-]+/[\w.-]+/versions/[\w]+", self.replicate_trainer or ""):
            raise ValueError("trainer=replicate needs replicate_trainer=<owner>/<name>/versions/<id>")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.replicate_destination or ""):
            raise ValueError("trainer=replicate needs replicate_destination=<owner>/<model>")

    def check_library_store(self) -> None:
        """An S3-compatible library store is https, with its bucket named."""
        endpoint = self.library_s3_endpoint_url
        if endpoint is None:
            return
        if not endpoint.startswith("https://") or not self.library_bucket:
            raise ValueError("library_s3_endpoint_url=https://... needs library_bucket=<name> (and library_s3_region, e.g. auto)")

    def check_provider(self) -> None:
        """The stage's default provider exists, and is the placeholder one only when asked for."""
        from chalicelib.generation.providers import REGISTRY

        if self.default_provider not in REGISTRY:
            raise ValueError(f"context default_provider={self.default_provider!r}: expected one of {', '.join(REGISTRY)}")
        if self.default_provider == "local" and not self.allow_local_provider:
            raise ValueError(
                "context default_provider=local deploys the placeholder image provider: "
                "add -c allow_local_provider=true if that is what you want (a demo stage)"
            )
