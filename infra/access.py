"""Who may touch what: the least-privilege map each function's IAM role is built from.

One row per Lambda function: the tables it reads or writes (by model `table_suffix`; indexes of
those tables come along), the S3 key prefixes, the queues it sends to or consumes, the secrets it
reads. `tests/infra/test_access.py` checks the synthesized roles against this map and against the
AWS calls the functional tests were seen to make (`tests/infra/observed_access.json`).
"""

from __future__ import annotations

from dataclasses import dataclass

from infra import config

# table suffixes, grouped by the code paths that use them
SETTLEMENT = ("wallets", "ledger", "holds", "counters", "rollups", "jobs", "analytics")  # settle_job / release_job
BILLING = ("workspaces", "wallets", "ledger", "markers", "audit", "topups", "subscriptions")

JOBS, JOBS_DLQ, BILLING_QUEUE, BILLING_DLQ = "jobs", "jobs_dlq", "billing", "billing_dlq"
WEBHOOKS_QUEUE, WEBHOOKS_DLQ = "webhooks", "webhooks_dlq"
WEBHOOKS = ("webhook_endpoints", "webhook_events", "webhook_deliveries", "audit")  # the webhooks worker's tables
SCHEDULED_FAILURES = "scheduled_failures"  # on-failure destination of the scheduled (async) invocations
EXPORTS_QUEUE, EXPORTS_DLQ = "exports", "exports_dlq"
TRAININGS_QUEUE, TRAININGS_DLQ = "trainings", "trainings_dlq"

# Mobile push through SNS (chalicelib/mobile/sns.py): the API registers and removes endpoints,
# the webhooks worker publishes and removes the ones SNS disabled.
PUSH_REGISTER = ("sns:CreatePlatformEndpoint", "sns:SetEndpointAttributes", "sns:DeleteEndpoint")
PUSH_SEND = ("sns:Publish", "sns:DeleteEndpoint")

IMAGES_PREFIX = "images/"
STATEMENTS_PREFIX = "statements/"
TMP_PREFIX = "tmp/"
EXPORTS_PREFIX = "exports/"  # library export zips (chalicelib/library/objects.py EXPORTS)
TRAININGS_PREFIX = "trainings/"  # a hosted training's images zip (chalicelib/training/trainers/replicate.py)
# The library store's keys when it is S3-compatible (R2), for the functions that touch its objects.
LIBRARY_STORE_SECRETS = ("LIBRARY_S3_ACCESS_KEY_ID", "LIBRARY_S3_SECRET_ACCESS_KEY")


@dataclass(frozen=True)
class Access:
    """What one function may do. Writers may read what they write."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    s3_read: tuple[str, ...] = ()
    s3_write: tuple[str, ...] = ()
    s3_delete: tuple[str, ...] = ()  # the library's purge and delete-forever
    send_to: tuple[str, ...] = ()
    consume: str | None = None
    secrets: tuple[str, ...] = ()
    on_failure: str | None = None  # the queue Lambda sends a failed async invocation to (with this role)
    send_mail: bool = False  # teams: invitation mail through SES, as the stage's MAIL_FROM only
    sns_push: tuple[str, ...] = ()  # mobile push: SNS actions on the platform applications' endpoints

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.read) | set(self.write)))


def _all_tables() -> tuple[str, ...]:
    from chalicelib.store.models import ALL_MODELS

    return tuple(model.table_suffix for model in ALL_MODELS)


def access_map() -> dict[str, Access]:
    everything = _all_tables()
    monthly = Access(  # roll wallets over (sparse index), write statements once each, queue due top-ups
        write=("wallets", "ledger", "markers"),
        read=("workspaces", "rollups", "topups"),
        s3_write=(STATEMENTS_PREFIX,),
        send_to=(BILLING_QUEUE,),
        secrets=("BILLING_HOOK_SECRET",),
        on_failure=SCHEDULED_FAILURES,
    )
    return {
        # The API is also the admin console, which can run the scheduled jobs by hand ("run now").
        config.API_HANDLER: Access(
            write=everything,
            # exports/: presigned URLs of ready zips, and the admin's "run now" of purge_library
            s3_read=(IMAGES_PREFIX, STATEMENTS_PREFIX, TMP_PREFIX, EXPORTS_PREFIX),
            s3_write=(IMAGES_PREFIX, STATEMENTS_PREFIX, TMP_PREFIX),
            s3_delete=(IMAGES_PREFIX, EXPORTS_PREFIX),
            # job.canceled, topup events, replays, exports, trainings
            send_to=(JOBS, BILLING_QUEUE, WEBHOOKS_QUEUE, EXPORTS_QUEUE, TRAININGS_QUEUE),
            secrets=(
                "STRIPE_API_KEY",
                "STRIPE_WEBHOOK_SECRET",
                "STRIPE_CONNECT_WEBHOOK_SECRET",  # marketplace payouts: the Connect webhook
                "BILLING_HOOK_SECRET",
                "CURSOR_SECRET",
                "IFTTT_SERVICE_KEY",
                "IFTTT_TEST_ACCESS_TOKEN",
                *LIBRARY_STORE_SECRETS,
            ),
            send_mail=True,  # invitations
            sns_push=PUSH_REGISTER,  # devices: their platform endpoints
        ),
        config.WORKER: Access(
            write=(*SETTLEMENT, "images", "idempotency", "library_index"),
            s3_read=(IMAGES_PREFIX, TMP_PREFIX),
            s3_write=(IMAGES_PREFIX, TMP_PREFIX),
            send_to=(JOBS, WEBHOOKS_QUEUE),  # provider-quota deferrals re-enqueue; job events
            consume=JOBS,
            secrets=("OPENAI_API_KEY", "GEMINI_API_KEY"),
        ),
        config.DEAD_LETTERS: Access(write=SETTLEMENT, consume=JOBS_DLQ, send_to=(WEBHOOKS_QUEUE,)),
        config.BILLING_WORKER: Access(
            write=BILLING,
            send_to=(WEBHOOKS_QUEUE,),  # topup.failed after a decline
            consume=BILLING_QUEUE,
            secrets=("STRIPE_API_KEY", "BILLING_HOOK_SECRET"),
        ),
        config.MONTHLY_RESET: monthly,
        config.RELEASE_STALE_HOLDS: Access(write=SETTLEMENT, send_to=(WEBHOOKS_QUEUE,), on_failure=SCHEDULED_FAILURES),
        # jobs: whether an open job holds a running slot (running_jobs is checked too)
        config.RECONCILE: Access(read=("wallets", "ledger", "jobs"), on_failure=SCHEDULED_FAILURES),
        # library: trashed images and expired uploads, rows and objects (store.library_index's due queue)
        config.PURGE_LIBRARY: Access(
            # exports: deadlines, expired zips; sync_changes: the tombstones of purged images
            write=("images", "library_index", "folders", "uploads", "exports", "sync_changes"),
            read=("shares",),  # an expired link's copies are deleted when its expiry falls due
            s3_read=(IMAGES_PREFIX,),
            s3_write=(IMAGES_PREFIX,),
            s3_delete=(IMAGES_PREFIX, EXPORTS_PREFIX),
            secrets=LIBRARY_STORE_SECRETS,
            on_failure=SCHEDULED_FAILURES,
        ),
        # fan-out and attempts: re-enqueues its own retries; calls receivers over the internet
        # balance.low: reads the wallet (a transaction's condition) and the top-up level, flips its alert
        # mobile push: the job's user's settings, their devices (push markers, pruning), SNS publish
        config.WEBHOOKS_WORKER: Access(
            write=(*WEBHOOKS, "balance_alerts", "devices"),
            read=("wallets", "topups", "users"),
            send_to=(WEBHOOKS_QUEUE, BILLING_QUEUE),  # attempts; an auto top-up due after a charge
            consume=WEBHOOKS_QUEUE,
            sns_push=PUSH_SEND,
        ),
        # outgoing events whose queue message never went out: claim (webhook_events), send again
        config.SWEEP_OUTBOX: Access(write=("webhook_events",), send_to=(WEBHOOKS_QUEUE,), on_failure=SCHEDULED_FAILURES),
        # library exports: reads the originals, writes the zip (a multipart upload), export.ready
        config.EXPORTS_WORKER: Access(
            write=("exports", "library_index"),
            read=("images",),
            s3_read=(IMAGES_PREFIX, EXPORTS_PREFIX),
            s3_write=(EXPORTS_PREFIX,),
            s3_delete=(EXPORTS_PREFIX,),  # a zip completed just before its build finally failed
            send_to=(WEBHOOKS_QUEUE,),
            consume=EXPORTS_QUEUE,
            secrets=LIBRARY_STORE_SECRETS,
        ),
        # custom model training: claims a running slot and settles or releases like the worker (SETTLEMENT);
        # reads the training images (library store too); a hosted trainer's images zip; its polls
        # and deferrals are its own delayed messages; training.succeeded/failed go to the outbox
        config.TRAININGS_WORKER: Access(
            write=SETTLEMENT,
            read=("images",),
            s3_read=(IMAGES_PREFIX, TRAININGS_PREFIX),
            s3_write=(TRAININGS_PREFIX,),
            send_to=(TRAININGS_QUEUE, WEBHOOKS_QUEUE),
            consume=TRAININGS_QUEUE,
            secrets=("REPLICATE_API_TOKEN", *LIBRARY_STORE_SECRETS),
        ),
        # payouts left `requested`: the open-payouts index, the payout row, the earnings entries; Stripe
        config.SWEEP_PAYOUTS: Access(write=("earnings",), secrets=("STRIPE_API_KEY",), on_failure=SCHEDULED_FAILURES),
    }


# DynamoDB actions by intent. Transactions need the per-item actions (TransactWriteItems is not
# an IAM action); ConditionCheckItem is what a transaction's `check` needs.
TABLE_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
)
INDEX_READ_ACTIONS = ("dynamodb:Query", "dynamodb:Scan")
TABLE_WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
QUEUE_SEND_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueUrl")
QUEUE_CONSUME_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
)
