"""Typed settings read from the environment, lazily and once per container.

Nothing here is read at import time: the local stack and the tests set the environment
(moto's endpoint, table prefix, ...) before the first call to :func:`get_settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib.bootstrap import on_reset
from chalicelib.domain import Misconfigured
from chalicelib.observability import logger

# Stages that run on this machine (the local stack, the tests): the placeholder provider is their default.
LOCAL_STAGES = frozenset({"local", "test"})


class ConfigurationError(Misconfigured):
    """The deployment is misconfigured: every request answers 503 naming the setting, and the
    scheduled and queue functions fail (their error alarms fire), until it is fixed."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that make the local stack work."""

    stage: str = "local"
    version: str = "0.1.0"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    table_prefix: str = "imagegen-local"
    jobs_queue_name: str = "imagegen-local-jobs"
    jobs_dlq_name: str = "imagegen-local-jobs-dlq"
    billing_queue_name: str = "imagegen-local-billing"
    webhooks_queue_name: str = "imagegen-local-webhooks"
    images_bucket: str = "imagegen-local-images"
    admin_api_key: str | None = None
    fault_injection: bool = False
    local_provider_latency_ms: int = 0
    worker_timeout_s: int = 300
    hold_max_age_s: int = 3600
    presign_expiry_s: int = 3600
    max_body_bytes: int = 1024 * 1024
    default_provider: str = "local"
    log_file: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    mail_from: str | None = None  # teams: the sender of invitation mail (SES) in a deployed stage
    # outgoing events (issue 14): the outbox sweeper's age, the default low-balance level, IFTTT's Realtime API
    outbox_sweep_after_s: int = 600
    balance_low_credits: int = 100
    ifttt_realtime_url: str = "https://realtime.ifttt.com"
    exports_queue_name: str = "imagegen-local-exports"  # library exports: the zips' build queue
    # People who sign in (tenancy/cognito.py): the Cognito user pool and app client whose ID tokens
    # are accepted beside API keys; unset, only API keys are. The JWKS URL is derived (below).
    cognito_user_pool_id: str | None = None
    cognito_client_id: str | None = None
    cognito_jwks_url_override: str | None = None
    # custom model training (issue 16): the trainings' queue, which trainer runs them (`local`:
    # Pillow, in the worker; `replicate`: the hosted trainings API) and the hosted trainer's setup
    trainings_queue_name: str = "imagegen-local-trainings"
    trainer: str = "local"
    replicate_base_url: str = "https://api.replicate.com"
    replicate_trainer: str | None = None  # "<owner>/<name>/versions/<id>": the trainer to run
    replicate_destination: str | None = None  # "<owner>/<model>": where trained versions go
    # mobile (issue 16): Expo's push API (EXPO_PUSH_URL; a loopback fake locally), the SNS platform
    # applications of APNs and FCM, when push receipts are read, and how far back a pull reads
    # again (commits that landed after an earlier pull's read)
    expo_push_url: str = "https://exp.host"
    push_apns_application_arn: str | None = None
    push_fcm_application_arn: str | None = None
    push_receipt_delay_s: int = 900
    sync_overlap_ms: int = 10_000

    def table_name(self, suffix: str) -> str:
        return f"{self.table_prefix}-{suffix}"

    @property
    def cognito_issuer(self) -> str | None:
        """The `iss` of the pool's tokens: the pool's region is the prefix of its id (`us-east-1_…`)."""
        pool = self.cognito_user_pool_id
        if not pool:
            return None
        return f"https://cognito-idp.{pool.split('_', 1)[0]}.amazonaws.com/{pool}"

    @property
    def cognito_jwks_url(self) -> str | None:
        """Where the pool's public keys are: `COGNITO_JWKS_URL`, else moto's path on the local
        endpoint (the local stages), else the pool's own well-known URL in AWS."""
        pool = self.cognito_user_pool_id
        if self.cognito_jwks_url_override or not pool:
            return self.cognito_jwks_url_override
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{pool}/.well-known/jwks.json"
        return f"{self.cognito_issuer}/.well-known/jwks.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build settings from the environment on first use; cached for the container's life."""
    env = os.environ
    stage = env.get("STAGE", "local")
    prefix = env.get("TABLE_PREFIX", f"imagegen-{stage}")
    settings = Settings(
        stage=stage,
        version=env.get("APP_VERSION", "0.1.0"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        table_prefix=prefix,
        admin_api_key=env.get("ADMIN_API_KEY") or None,
        fault_injection=_bool(env.get("FAULT_INJECTION"), default=stage in {"local", "test"}),
        local_provider_latency_ms=int(env.get("LOCAL_PROVIDER_LATENCY_MS", "0")),
        worker_timeout_s=int(env.get("WORKER_TIMEOUT_S", "300")),
        hold_max_age_s=int(env.get("HOLD_MAX_AGE_S", "3600")),
        presign_expiry_s=int(env.get("PRESIGN_EXPIRY_S", "3600")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(1024 * 1024))),
        default_provider=env.get("DEFAULT_PROVIDER", "local"),
        log_file=env.get("LOG_FILE") or None,
        outbox_sweep_after_s=int(env.get("OUTBOX_SWEEP_AFTER_S", "600")),
        balance_low_credits=int(env.get("BALANCE_LOW_CREDITS", "100")),
        **_resources(env, prefix),
        **_integrations(env),
    )
    _refuse_placeholder_provider(settings, _bool(env.get("ALLOW_LOCAL_PROVIDER")))
    return settings


def _resources(env: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """Queue and bucket names: the stage's prefix unless the template names them."""
    return {
        "jobs_queue_name": env.get("JOBS_QUEUE_NAME", f"{prefix}-jobs"),
        "jobs_dlq_name": env.get("JOBS_DLQ_NAME", f"{prefix}-jobs-dlq"),
        "billing_queue_name": env.get("BILLING_QUEUE_NAME", f"{prefix}-billing"),
        "webhooks_queue_name": env.get("WEBHOOKS_QUEUE_NAME", f"{prefix}-webhooks"),
        "images_bucket": env.get("IMAGES_BUCKET", f"{prefix}-images"),
        "exports_queue_name": env.get("EXPORTS_QUEUE_NAME", f"{prefix}-exports"),
        "trainings_queue_name": env.get("TRAININGS_QUEUE_NAME", f"{prefix}-trainings"),
    }


def _integrations(env: Mapping[str, str]) -> dict[str, Any]:
    """Where the outside services are (sign-in, mail, push, trainers, IFTTT) and their knobs."""
    return {
        "mail_from": env.get("MAIL_FROM") or None,
        "ifttt_realtime_url": env.get("IFTTT_REALTIME_URL") or "https://realtime.ifttt.com",
        "cognito_user_pool_id": env.get("COGNITO_USER_POOL_ID") or None,
        "cognito_client_id": env.get("COGNITO_CLIENT_ID") or None,
        "cognito_jwks_url_override": env.get("COGNITO_JWKS_URL") or None,
        "trainer": env.get("TRAINER") or "local",
        "replicate_base_url": env.get("REPLICATE_BASE_URL") or "https://api.replicate.com",
        "replicate_trainer": env.get("REPLICATE_TRAINER") or None,
        "replicate_destination": env.get("REPLICATE_DESTINATION") or None,
        "expo_push_url": env.get("EXPO_PUSH_URL") or "https://exp.host",
        "push_apns_application_arn": env.get("PUSH_APNS_APPLICATION_ARN") or None,
        "push_fcm_application_arn": env.get("PUSH_FCM_APPLICATION_ARN") or None,
        "push_receipt_delay_s": int(env.get("PUSH_RECEIPT_DELAY_S", "900")),
        "sync_overlap_ms": int(env.get("SYNC_OVERLAP_MS", "10000")),
    }


def _refuse_placeholder_provider(settings: Settings, allowed: bool) -> None:
    """A deployed stage never silently serves the `local` provider's placeholder images."""
    if settings.stage in LOCAL_STAGES or settings.default_provider != "local" or allowed:
        return
    message = (
        f"DEFAULT_PROVIDER is 'local' (placeholder images) on stage '{settings.stage}': set DEFAULT_PROVIDER "
        "to a real provider (the stack's `default_provider` context), or ALLOW_LOCAL_PROVIDER=true for a demo stage"
    )
    logger.error("configuration refused", extra={"error_code": "misconfigured", "detail": message})
    raise ConfigurationError(message)


@on_reset
def reset_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
