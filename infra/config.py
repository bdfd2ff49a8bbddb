"""What differs between the stages, and what the infra reads from the app's own configuration.

Timeouts, memory and reserved concurrency live once, in `.chalice/config.json`; the queue
visibility timeouts and the hold sweeper's age are computed from them here, so they cannot drift
apart. Everything an operator may set at deploy time is a CDK context value (see docs/infra.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "imagegen"
STAGES = ("dev", "prod")

# The Lambda functions Chalice declares in app.py, by their Chalice name.
API_HANDLER = "api_handler"
WORKER = "worker"
DEAD_LETTERS = "dead_letters"
BILLING_WORKER = "billing_worker"
MONTHLY_RESET = "monthly_reset"
RELEASE_STALE_HOLDS = "release_stale_holds"
RECONCILE = "reconcile"
WEBHOOKS_WORKER = "webhooks_worker"
FUNCTIONS = (API_HANDLER, WORKER, DEAD_LETTERS, BILLING_WORKER, MONTHLY_RESET, RELEASE_STALE_HOLDS, RECONCILE, WEBHOOKS_WORKER)
SCHEDULED = (MONTHLY_RESET, RELEASE_STALE_HOLDS, RECONCILE)
# library (issue 12): trash purge and expired uploads, hourly
PURGE_LIBRARY = "purge_library"
FUNCTIONS = (*FUNCTIONS, PURGE_LIBRARY)
SCHEDULED = (*SCHEDULED, PURGE_LIBRARY)
# outgoing events (issue 14): the outbox sweeper, every 5 minutes
SWEEP_OUTBOX = "sweep_outbox"
FUNCTIONS = (*FUNCTIONS, SWEEP_OUTBOX)
SCHEDULED = (*SCHEDULED, SWEEP_OUTBOX)
# library exports (issue 12): the zips' builder, fed by its own queue
EXPORTS_WORKER = "exports_worker"
FUNCTIONS = (*FUNCTIONS, EXPORTS_WORKER)

# Secrets the app reads as env NAME or, in AWS, from the SSM SecureString named by NAME_PARAM.
SECRETS = (
    "STRIPE_API_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "BILLING_HOOK_SECRET",
    "CURSOR_SECRET",
    "IFTTT_SERVICE_KEY",
    "IFTTT_TEST_ACCESS_TOKEN",
    # the library's S3-compatible store (R2): read only when LIBRARY_S3_ENDPOINT_URL is set
    "LIBRARY_S3_ACCESS_KEY_ID",
    "LIBRARY_S3_SECRET_ACCESS_KEY",
)

JOBS_MAX_RECEIVE_COUNT = 3  # a job message that failed 3 times is dead-lettered (the job fails, its hold released)
BILLING_MAX_RECEIVE_COUNT = 5  # an auto top-up is worth a few more tries: Stripe outages are short
# A webhooks message that failed 5 times (our own error, not the receiver's: a receiver's failure
# is a recorded attempt and a delayed retry message) is dead-lettered.
WEBHOOKS_MAX_RECEIVE_COUNT = 5
# An export build is tried 3 times; its last receive fails the export itself (export_worker.MAX_RECEIVES),
# so only a worker that crashed 3 times (timeouts) leaves a message in the exports DLQ.
EXPORTS_MAX_RECEIVE_COUNT = 3
# Visibility timeout = 6 x the consumer's timeout, AWS's guidance for queues behind a Lambda event
# source mapping: a run that times out is never overlapped, and the mapping's own retries of a
# throttled invocation (its batch stays in flight meanwhile) fit in before the message reappears.
VISIBILITY_FACTOR = 6


def logical_id(function: str) -> str:
    """The logical id `chalice package` gives a function (api_handler -> APIHandler, dead_letters -> DeadLetters)."""
    if function == API_HANDLER:
        return "APIHandler"
    return "".join(part.capitalize() for part in function.split("_"))


def secret_parameter_name(stage: str, secret: str) -> str:
    """`/imagegen/<stage>/stripe-api-key`: the SSM parameter holding a secret (SecureString, set by hand)."""
    return f"/{APP_NAME}/{stage}/{secret.lower().replace('_', '-')}"


@cache
def chalice_config() -> dict[str, Any]:
    return json.loads((REPO_ROOT / ".chalice" / "config.json").read_text())


def function_settings(stage: str, function: str) -> dict[str, Any]:
    """A function's memory/timeout/reserved concurrency for a stage, as Chalice will deploy it."""
    stage_config = chalice_config()["stages"][stage]
    merged = {key: stage_config[key] for key in ("lambda_memory_size", "lambda_timeout") if key in stage_config}
    merged.update(stage_config.get("lambda_functions", {}).get(function, {}))
    merged.setdefault("lambda_memory_size", 128)
    merged.setdefault("lambda_timeout", 60)
    return merged


def metrics_namespace() -> str:
    return str(chalice_config()["environment_variables"]["POWERTOOLS_METRICS_NAMESPACE"])


def service_name() -> str:
    return str(chalice_config()["environment_variables"]["POWERTOOLS_SERVICE_NAME"])


@dataclass(frozen=True)
class StageConfig:
    """The knobs of one stage. Names of resources derive from `prefix` (= TABLE_PREFIX)."""

    name: str
    protect_data: bool  # deletion protection + RETAIN on tables and bucket
    log_retention_days: int
    worker_max_concurrency: int  # ESM ScalingConfig; at most the worker's reserved concurrency
    reserve_concurrency: bool  # apply `reserved_concurrency` of .chalice/config.json (context can override)
    api_rate_limit: float  # API Gateway stage throttling (requests/s, steady), a backstop to the app's limits
    api_burst_limit: int
    presign_expiry_s: int = 3600
    # alarm thresholds
    api_5xx_percent: float = 5.0
    oldest_job_age_s: int = 900
    provider_error_percent: float = 20.0
    job_p95_ms: int = 120_000
    webhook_failures: int = 3

    @property
    def prefix(self) -> str:
        return f"{APP_NAME}-{self.name}"

    def function_name(self, function: str) -> str:
        return f"{self.prefix}-{function.replace('_', '-')}"

    def timeout_s(self, function: str) -> int:
        return int(function_settings(self.name, function)["lambda_timeout"])

    def visibility_timeout_s(self, consumer: str) -> int:
        return VISIBILITY_FACTOR * self.timeout_s(consumer)

    @property
    def hold_max_age_s(self) -> int:
        """Older holds are swept. A job message can live max_receive x visibility before the DLQ
        takes it; only past that (plus one run) is a hold surely orphaned."""
        in_flight = JOBS_MAX_RECEIVE_COUNT * self.visibility_timeout_s(WORKER) + self.timeout_s(WORKER)
        return max(3600, in_flight)


STAGE_CONFIGS: dict[str, StageConfig] = {
    # dev reserves nothing by default: a new account's concurrency quota (sometimes 10) could not
    # spare the worker's 50 reserved executions plus the 100 Lambda keeps unreserved.
    "dev": StageConfig(
        name="dev",
        protect_data=False,
        log_retention_days=14,
        worker_max_concurrency=10,
        reserve_concurrency=False,
        api_rate_limit=50,
        api_burst_limit=100,
        oldest_job_age_s=1800,
        job_p95_ms=180_000,
    ),
    "prod": StageConfig(
        name="prod",
        protect_data=True,
        log_retention_days=90,
        worker_max_concurrency=100,
        reserve_concurrency=True,
        api_rate_limit=500,
        api_burst_limit=1000,
    ),
}
# marketplace (issue 16): the Stripe Connect endpoint's own signing secret (account.updated)
SECRETS = (*SECRETS, "STRIPE_CONNECT_WEBHOOK_SECRET")

# custom model training (issue 16): the trainings' worker, fed by its own queue. A training is tried
# 3 times; its last receive fails it (training/rules.py MAX_RECEIVES, the hold refunded), so only a
# worker that crashed 3 times leaves a message in the trainings DLQ (and the stale-hold sweeper
# refunds its hold).
TRAININGS_WORKER = "trainings_worker"
FUNCTIONS = (*FUNCTIONS, TRAININGS_WORKER)
TRAININGS_MAX_RECEIVE_COUNT = 3
SECRETS = (*SECRETS, "REPLICATE_API_TOKEN")  # the hosted trainer (TRAINER=replicate)

# marketplace payouts (issue 16): the sweeper of payouts left `requested`, every 5 minutes
SWEEP_PAYOUTS = "sweep_payouts"
FUNCTIONS = (*FUNCTIONS, SWEEP_PAYOUTS)
SCHEDULED = (*SCHEDULED, SWEEP_PAYOUTS)
