"""A pytest plugin that records which AWS calls each Lambda function's code makes.

    pytest -p tests.infra.access_audit --access-audit=tests/infra/observed_access.json tests/functional

While a test runs the app through one of its entry points (the API through Chalice, the worker,
the DLQ and billing handlers, the scheduled jobs), every botocore call and presigned URL is
recorded under that function's name as an IAM action on a resource kind: `dynamodb:Query
index:jobs/by_status`, `s3:PutObject object:images/`, `sqs:SendMessage queue:billing`. Calls made
by fixtures (creating tables, seeding tenants, reading queues) belong to no function and are not
recorded. tests/infra/test_access.py then checks every recorded call against infra/access.py, so a
role that would deny what the code does fails a test instead of a deploy.

Sequential runs only (no -n): the current entry point is process-wide.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

_lock = threading.Lock()
_current: list[str] = []  # stack of entry points; the outermost one is the function being run
_seen: dict[str, set[str]] = {}  # the whole session's calls (plugin mode)
_sinks: list[dict[str, set[str]]] = []

FUNCTION_ENTRIES = (
    "worker",
    "dead_letters",
    "billing_worker",
    "monthly_reset",
    "release_stale_holds",
    "reconcile",
    "webhooks_worker",
)
FUNCTION_ENTRIES = (*FUNCTION_ENTRIES, "purge_library")
FUNCTION_ENTRIES = (*FUNCTION_ENTRIES, "sweep_outbox")  # outgoing events (issue 14)
FUNCTION_ENTRIES = (*FUNCTION_ENTRIES, "exports_worker")
FUNCTION_ENTRIES = (*FUNCTION_ENTRIES, "trainings_worker")  # custom model training (issue 16)
FUNCTION_ENTRIES = (*FUNCTION_ENTRIES, "sweep_payouts")  # marketplace payouts (issue 16)
DYNAMO_SINGLE = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
S3_ACTIONS = {
    "HeadObject": "GetObject",
    "GetObject": "GetObject",
    "PutObject": "PutObject",
    "DeleteObject": "DeleteObject",
    "CopyObject": "PutObject",
    # an export's zip: a multipart upload is PutObject to IAM, its abort an action of its own
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--access-audit", default=None, help="write the AWS calls seen per Lambda function to this JSON file")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--access-audit"):
        _sinks.append(_seen)
        install()


def pytest_unconfigure(config: pytest.Config) -> None:
    path = config.getoption("--access-audit")
    if path:
        observed = {function: sorted(calls) for function, calls in sorted(_seen.items())}
        Path(path).write_text(json.dumps(observed, indent=1) + "\n")


# --- resource names -> kinds ---------------------------------------------------------------------


def _table_suffix(table_name: str) -> str:
    from chalicelib.store.models import ALL_MODELS

    suffixes = sorted((m.table_suffix for m in ALL_MODELS), key=len, reverse=True)
    for suffix in suffixes:
        if table_name.endswith(f"-{suffix}"):
            return suffix
    return f"?{table_name}"


def _queue_key(name_or_url: str) -> str:
    name = name_or_url.rstrip("/").rsplit("/", 1)[-1]
    for suffix, key in (
        ("-jobs-dlq", "jobs_dlq"),
        ("-billing-dlq", "billing_dlq"),
        ("-webhooks-dlq", "webhooks_dlq"),
        ("-exports-dlq", "exports_dlq"),
        ("-trainings-dlq", "trainings_dlq"),
        ("-jobs", "jobs"),
        ("-billing", "billing"),
        ("-webhooks", "webhooks"),
        ("-exports", "exports"),
        ("-trainings", "trainings"),
    ):
        if name.endswith(suffix):
            return key
    return f"?{name}"


def _object_prefix(key: str) -> str:
    head, sep, _ = key.partition("/")
    return f"{head}/" if sep else f"?{key}"


def describe(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM actions (with a resource kind) one API call needs."""
    if service == "dynamodb":
        if operation in DYNAMO_SINGLE:
            table = _table_suffix(params["TableName"])
            index = params.get("IndexName")
            target = f"index:{table}/{index}" if index else f"table:{table}"
            return [f"dynamodb:{operation} {target}"]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params["TransactItems"]:
                for kind, body in item.items():
                    out.append(f"dynamodb:{TRANSACT_ACTIONS[kind]} table:{_table_suffix(body['TableName'])}")
            return out
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [f"dynamodb:{operation} table:{_table_suffix(name)}" for name in params["RequestItems"]]
        return [f"dynamodb:{operation} ?"]
    if service == "sqs":
        where = params.get("QueueUrl") or params.get("QueueName") or "?"
        return [f"sqs:{operation.replace('Batch', '')} queue:{_queue_key(where)}"]
    if service == "s3":
        return _s3_actions(operation, params)
    return _other_actions(service, operation, params)


def _other_actions(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    if service == "sns":  # mobile push: a platform application's endpoints
        return [f"sns:{operation} {'application' if operation == 'CreatePlatformEndpoint' else 'endpoint'}:"]
    if service == "ssm" and operation == "GetParameter":
        return [f"ssm:GetParameter parameter:{params.get('Name')}"]
    return [f"{service}:{operation} ?"]


def _s3_actions(operation: str, params: dict[str, Any]) -> list[str]:
    if operation == "DeleteObjects":  # the library's purge: one s3:DeleteObject per key
        keys = {_object_prefix(o["Key"]) for o in params.get("Delete", {}).get("Objects", [])}
        return [f"s3:DeleteObject object:{prefix}" for prefix in sorted(keys)]
    action = S3_ACTIONS.get(operation, operation)
    return [f"s3:{action} object:{_object_prefix(params.get('Key', ''))}"]


# --- recording ----------------------------------------------------------------------------------


def _record(entries: list[str]) -> None:
    with _lock:
        if not _current:
            return
        for sink in _sinks:
            sink.setdefault(_current[0], set()).update(entries)


def _entered(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            _current.append(name)
        try:
            return fn(*args, **kwargs)
        finally:
            with _lock:
                _current.pop()

    wrapper.__audited__ = fn  # type: ignore[attr-defined]
    return wrapper


_undo: list[Any] = []


def _swap(owner: Any, name: str, new: Any) -> None:
    old = getattr(owner, name) if not isinstance(owner, dict) else owner[name]
    _undo.append((owner, name, old))
    if isinstance(owner, dict):
        owner[name] = new
    else:
        setattr(owner, name, new)


def install() -> None:
    """Start recording (idempotent): patch botocore and wrap the app's entry points."""
    if _undo:
        return
    import botocore.client
    import botocore.signers
    from chalice.app import Chalice

    import app as chalice_app
    import chalicelib.tasks as scheduled

    original_call = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        _record(describe(self.meta.service_model.service_name, operation_name, api_params))
        return original_call(self, operation_name, api_params)

    original_presign = botocore.signers.generate_presigned_url

    def generate_presigned_url(
        self: Any, ClientMethod: str, Params: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        operation = "".join(part.capitalize() for part in ClientMethod.split("_"))
        _record(describe(self.meta.service_model.service_name, operation, Params or {}))
        return original_presign(self, ClientMethod, Params, *args, **kwargs)

    _swap(botocore.client.BaseClient, "_make_api_call", make_api_call)
    # S3 clients get `generate_presigned_url` when built: rebuild the app's cached ones.
    _swap(botocore.signers, "generate_presigned_url", generate_presigned_url)
    reset_clients()
    _swap(Chalice, "__call__", _entered("api_handler", Chalice.__call__))
    for name in FUNCTION_ENTRIES:
        _swap(chalice_app, name, _entered(name, getattr(chalice_app, name)))
    for name in list(scheduled.SCHEDULED):
        wrapped = _entered(name, scheduled.SCHEDULED[name])
        _swap(scheduled.SCHEDULED, name, wrapped)
        _swap(scheduled, name, wrapped)


def uninstall() -> None:
    while _undo:
        owner, name, old = _undo.pop()
        if isinstance(owner, dict):
            owner[name] = old
        else:
            setattr(owner, name, old)
    reset_clients()


def reset_clients() -> None:
    from chalicelib.aws import reset_clients as reset

    reset()


@contextmanager
def recording() -> Iterator[dict[str, set[str]]]:
    """Record the calls made inside the block, per function (for a test's own flows).

    Also works while the plugin records the whole session: both see the calls."""
    seen: dict[str, set[str]] = {}
    owner = not _undo
    install()
    _sinks.append(seen)
    try:
        yield seen
    finally:
        _sinks.remove(seen)
        if owner:
            uninstall()
