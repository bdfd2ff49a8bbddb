"""The embedded local stack: moto, tables/queues/bucket, the API, the worker poller, the
scheduler and a bootstrap admin, all in one process on loopback."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from chalice.config import Config

import app as chalice_app
from chalicelib import ids
from chalicelib.aws import client, reset_clients
from chalicelib.billing import gateway
from chalicelib.local.api_server import ApiServer
from chalicelib.local.fake_stripe import FakeStripe
from chalicelib.local.moto_server import SerializedMotoServer
from chalicelib.local.poller import QueuePoller
from chalicelib.local.scheduler import LocalScheduler
from chalicelib.settings import get_settings, reset_settings
from chalicelib.store import bind_models, ensure_tables
from chalicelib.store.models import ApiKeyModel
from chalicelib.tenancy import create_workspace

MAX_RECEIVE_COUNT = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def configure_environment(moto_port: int, prefix: str = "imagegen-local", **extra: str) -> None:
    """Point every client at moto with dummy credentials (never a real account)."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "STAGE": os.environ.get("STAGE", "local"),
            "TABLE_PREFIX": prefix,
            "JOBS_QUEUE_NAME": f"{prefix}-jobs",
            "JOBS_DLQ_NAME": f"{prefix}-jobs-dlq",
            "IMAGES_BUCKET": f"{prefix}-images",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "ImageGenLocal",
            **extra,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    reset_settings()

    reset_clients()


def create_resources(visibility_timeout_s: int = 5) -> None:
    """Tables from the pynamodb models; the jobs queue with its DLQ; the images bucket."""
    s = get_settings()
    ensure_tables(s)
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName=s.jobs_dlq_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName=s.jobs_queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
        },
    )
    sqs.create_queue(QueueName=s.billing_queue_name, Attributes={"VisibilityTimeout": str(visibility_timeout_s)})
    sqs.create_queue(QueueName=s.webhooks_queue_name, Attributes={"VisibilityTimeout": str(visibility_timeout_s)})
    sqs.create_queue(QueueName=s.exports_queue_name, Attributes={"VisibilityTimeout": str(visibility_timeout_s)})  # exports
    sqs.create_queue(QueueName=s.trainings_queue_name, Attributes={"VisibilityTimeout": str(visibility_timeout_s)})  # trainings
    s3 = client("s3")
    s3.create_bucket(Bucket=s.images_bucket)
    create_user_pool(s.table_prefix)
    create_push_applications(s.table_prefix)  # mobile (issue 16)


def bootstrap_admin(secret: str) -> dict[str, str]:
    """A platform workspace whose owner is a platform admin, with the given key."""
    bind_models()
    try:
        existing = ApiKeyModel.get(ids.hash_secret(secret))
        return {"workspace_id": existing.workspace_id, "user_id": existing.user_id}
    except ApiKeyModel.DoesNotExist:
        pass
    made = create_workspace("Platform operators", "admin@localhost.localdomain", "enterprise", is_admin=True, secret=secret)
    return {"workspace_id": made.workspace.workspace_id, "user_id": made.owner.user_id}


@dataclass
class LocalStack:
    """Everything the README's `make dev` starts. `start()` returns once all of it is up."""

    port: int = 8000
    moto_port: int = 5000
    host: str = "127.0.0.1"
    admin_key: str | None = None
    prefix: str = "imagegen-local"
    run_api: bool = True
    run_worker: bool = True
    run_scheduler: bool = True
    visibility_timeout_s: int = 5
    lines: list[str] = field(default_factory=list)
    _threads: list[Any] = field(default_factory=list)
    _moto: Any = None
    _api: Any = None
    _stripe: Any = None
    _expo: Any = None

    def start(self) -> LocalStack:

        for name, port in (("MOTO_PORT", self.moto_port), ("PORT", self.port if self.run_api else None)):
            if port and not port_is_free(self.host, port):  # 0 = any free port, bound below
                raise SystemExit(f"port {port} on {self.host} is in use; set {name} to another port")
        if self.run_api:
            self._bind_api()  # bound first: with PORT=0, the real port is known to what follows

        self._moto = SerializedMotoServer(ip_address=self.host, port=self.moto_port, verbose=False)
        self._moto.start()
        self.moto_port = int(self._moto.get_host_and_port()[1])
        self._say("moto", f"http://{self.host}:{self.moto_port} (DynamoDB, SQS + DLQ, S3; one request at a time)")
        configure_environment(self.moto_port, self.prefix)
        create_resources(self.visibility_timeout_s)
        s = get_settings()
        self._say("resources", f"tables {s.table_prefix}-*, queues {s.jobs_queue_name} (+dlq), bucket {s.images_bucket}")
        self._say("sign-in", f"Cognito pool {s.cognito_user_pool_id}, app client {s.cognito_client_id} (ID tokens from moto)")
        self._start_fake_stripe()
        self._start_fake_expo()
        self.admin_key = self.admin_key or os.environ.get("ADMIN_API_KEY") or ids_secret()
        admin = bootstrap_admin(self.admin_key)
        if self.run_worker:
            self._start_pollers()
        if self.run_scheduler:
            scheduler = LocalScheduler()
            scheduler.start()
            self._threads.append(scheduler)
            self._say("scheduler", "monthly_reset (on month change), release_stale_holds (1 min), reconcile (10 min)")
        self._say(
            "provider",
            f"local (Pillow, latency {s.local_provider_latency_ms} ms, fault injection {'on' if s.fault_injection else 'off'})",
        )
        if self.run_api:
            self._serve_api()
        self._say("admin", f"key {self.admin_key} (workspace {admin['workspace_id']})")
        if self.run_api:
            self._say("dashboard", f"http://{self.host}:{self.port}/admin")
        return self

    def _start_fake_stripe(self) -> None:
        """Stripe's API on loopback, with keys generated for this run unless given."""
        secret = os.environ.get("STRIPE_WEBHOOK_SECRET") or f"whsec_local_{secrets.token_hex(16)}"
        os.environ.setdefault("STRIPE_API_KEY", f"sk_test_local_{secrets.token_hex(8)}")
        os.environ["STRIPE_WEBHOOK_SECRET"] = secret
        os.environ.setdefault("PUBLIC_BASE_URL", f"http://{self.host}:{self.port}")
        if os.environ.get("STRIPE_API_BASE"):
            self._say("stripe", f"{os.environ['STRIPE_API_BASE']} (from STRIPE_API_BASE)")
        else:
            self._stripe = FakeStripe(webhook_url=f"http://{self.host}:{self.port}/webhooks/stripe", webhook_secret=secret)
            connect_marketplace(self._stripe, f"http://{self.host}:{self.port}")
            os.environ["STRIPE_API_BASE"] = self._stripe.start(self.host, 0)
            self._say("stripe", f"fake Stripe API {os.environ['STRIPE_API_BASE']} (webhooks signed with STRIPE_WEBHOOK_SECRET)")
        gateway.reset()

    def _start_fake_expo(self) -> None:
        """Expo's push API on loopback (chalicelib/local/fake_expo.py) unless EXPO_PUSH_URL is set."""
        from chalicelib.local.fake_expo import FakeExpo

        if os.environ.get("EXPO_PUSH_URL"):
            self._say("expo", f"{os.environ['EXPO_PUSH_URL']} (from EXPO_PUSH_URL)")
            return
        self._expo = FakeExpo()
        os.environ["EXPO_PUSH_URL"] = self._expo.start(self.host, 0)
        os.environ.setdefault("PUSH_RECEIPT_DELAY_S", "5")
        reset_settings()
        self._say("expo", f"{os.environ['EXPO_PUSH_URL']} (a fake Expo push API; what it was sent: GET /_fake/messages)")

    def _start_pollers(self) -> None:

        s = get_settings()
        workers = QueuePoller(s.jobs_queue_name, chalice_app.worker, "worker", s.worker_timeout_s, s.region)
        dead = QueuePoller(s.jobs_dlq_name, chalice_app.dead_letters, "dead_letters", 60, s.region)
        billing = QueuePoller(s.billing_queue_name, chalice_app.billing_worker, "billing_worker", 60, s.region)
        webhooks = QueuePoller(s.webhooks_queue_name, chalice_app.webhooks_worker, "webhooks_worker", 60, s.region)
        exports = QueuePoller(s.exports_queue_name, chalice_app.exports_worker, "exports_worker", 300, s.region, batch_size=1)
        training = chalice_app.trainings_worker
        trainings = QueuePoller(s.trainings_queue_name, training, "trainings_worker", 300, s.region, batch_size=1)
        for poller in (workers, dead, billing, webhooks, exports, trainings):
            poller.start()
            self._threads.append(poller)
        self._say(
            "worker",
            f"polling {s.jobs_queue_name} (batches of 10), {s.jobs_dlq_name}, {s.billing_queue_name}, {s.webhooks_queue_name}"
            f", {s.exports_queue_name}, {s.trainings_queue_name}",
        )

    def _bind_api(self) -> None:
        """The API server's socket (chalicelib/local/api_server.py: our envelope for what the
        app never sees, a listen backlog of 1024), bound now and served by `_serve_api`."""

        # Served directly (no `chalice local` reloader child that would outlive Ctrl-C).
        config = Config.create(chalice_stage="local", app_name="imagegen", project_dir=os.getcwd())
        self._api = ApiServer(chalice_app.app, config, self.host, self.port)
        self.port = self._api.port

    def _serve_api(self) -> None:
        thread = threading.Thread(target=self._api.serve_forever, name="api", daemon=True)
        thread.start()
        self._say("api", f"http://{self.host}:{self.port}")

    def _say(self, component: str, text: str) -> None:
        line = f"[{component}] {text}"
        self.lines.append(line)
        print(line, flush=True)

    def stop(self, grace_s: float = 10.0) -> list[str]:
        """Stop everything within `grace_s` seconds in all; returns what had not stopped by then.

        Pollers finish the batch in hand (a handler may be mid provider call, or botocore may be
        retrying), so they are joined against one shared deadline, not one timeout each; the
        servers are stopped in threads of their own so a stuck one cannot hold the others."""
        deadline = time.monotonic() + grace_s

        def stop_in_thread(name: str, server: Any) -> list[threading.Thread]:
            if server is None:
                return []
            thread = threading.Thread(target=server.stop, name=name, daemon=True)
            thread.start()
            return [thread]

        stopping = stop_in_thread("api", self._api)  # first: no new requests
        for thread in self._threads:
            thread.stop()
        for thread in self._threads:  # the last quarter of the grace is kept for the servers
            thread.join(timeout=max(0.0, deadline - grace_s / 4 - time.monotonic()))
        # Moto last but one: the pollers talk to it until they have stopped.
        stopping += stop_in_thread("stripe", self._stripe) + stop_in_thread("expo", self._expo)
        stopping += stop_in_thread("moto", self._moto)
        for thread in stopping:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return [t.name for t in [*self._threads, *stopping] if t.is_alive()]


def ids_secret() -> str:
    return f"sk_test_admin_{secrets.token_urlsafe(24)}"


# --- teams: people who sign in ------------------------------------------------------------------

USER_POOL_PASSWORD_POLICY = {"MinimumLength": 8, "RequireUppercase": False, "RequireSymbols": False}


def create_user_pool(prefix: str) -> tuple[str, str]:
    """The user pool and app client people sign in with, on moto (which issues their tokens and
    serves the pool's JWKS): their ids go into COGNITO_USER_POOL_ID / COGNITO_CLIENT_ID."""
    cognito = client("cognito-idp")
    pool_id = cognito.create_user_pool(
        PoolName=f"{prefix}-people",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={"PasswordPolicy": USER_POOL_PASSWORD_POLICY},
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{prefix}-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "email_verified"],
    )["UserPoolClient"]["ClientId"]
    os.environ.update({"COGNITO_USER_POOL_ID": pool_id, "COGNITO_CLIENT_ID": client_id})
    reset_settings()
    return pool_id, client_id


# --- marketplace (issue 16): Stripe Connect's webhook on the fake -------------------------------


def connect_marketplace(fake: FakeStripe, api_base: str) -> None:
    """Point the fake's Connect events (account.updated) at the API's Connect endpoint, signed
    with STRIPE_CONNECT_WEBHOOK_SECRET (generated for this run unless given)."""
    secret = os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET") or f"whsec_connect_local_{secrets.token_hex(16)}"
    os.environ["STRIPE_CONNECT_WEBHOOK_SECRET"] = secret
    fake.connect_webhook_url = f"{api_base}/webhooks/stripe-connect"
    fake.connect_webhook_secret = secret


def create_push_applications(prefix: str) -> None:
    """SNS platform applications for APNs and FCM on moto (mobile push; deployed stacks name real
    ones by configuration), their ARNs in the environment unless set already."""
    sns = client("sns")
    for platform, name, env in (("APNS", "apns", "PUSH_APNS_APPLICATION_ARN"), ("GCM", "fcm", "PUSH_FCM_APPLICATION_ARN")):
        if os.environ.get(env):
            continue
        attributes = {"PlatformCredential": "local-credential", "PlatformPrincipal": "local-principal"}
        made = sns.create_platform_application(Name=f"{prefix}-{name}", Platform=platform, Attributes=attributes)
        os.environ[env] = made["PlatformApplicationArn"]
    reset_settings()
