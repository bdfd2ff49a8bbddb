"""The Logger / Metrics / Tracer singletons and the correlation-id helpers.

Every log line is JSON with the keys operators filter on: request_id, correlation_id, route,
user_id, workspace_id, job_id, latency_ms, error_code. Keys are appended per thread, because
the local API server and the worker handle requests on several threads at once.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "imagegen"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ImageGen"), service=SERVICE)


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    """The Tracer, built on first use: importing the X-Ray SDK costs ~150 ms of cold start."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


CONTEXT_KEYS = ("request_id", "correlation_id", "route", "user_id", "workspace_id", "job_id", "latency_ms", "error_code")
_file_handler_added = False


def bind(**keys: Any) -> None:
    """Add keys to every later log line of this thread."""
    logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})


def unbind() -> None:
    """Forget this thread's keys (start of a request or record)."""
    logger.thread_safe_clear_keys()


def add_file_sink(path: str) -> None:
    """Also write the same JSON lines to a file (the local stack's log)."""
    global _file_handler_added
    if _file_handler_added:
        return
    handler = logging.FileHandler(path)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    _file_handler_added = True


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Emit one EMF metric now (low-cardinality dimensions only: never user or job ids)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    unit = MetricUnit.Milliseconds if name.endswith("Ms") else MetricUnit.Count
    with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, val in dimensions.items():
            metric.add_dimension(name=key, value=str(val))


# --- traces -----------------------------------------------------------------------------------


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() not in ("1", "true")


@contextmanager
def span(name: str, **annotations: str | int | None) -> Iterator[None]:
    """An X-Ray subsegment with searchable annotations (workspace, job, provider), when tracing is on."""
    if not tracing_enabled():
        yield
        return
    with get_tracer().provider.in_subsegment(f"## {name}") as subsegment:
        for key, value in annotations.items():
            if value is not None:
                subsegment.put_annotation(key, value)  # type: ignore[arg-type]  # an int is a Number; the stub cannot say so
        yield


# --- cold starts ------------------------------------------------------------------------------

_cold = True


def note_cold_start(function: str) -> bool:
    """Count the first invocation of this container (ColdStart metric, by function)."""
    global _cold
    if not _cold:
        return False
    _cold = False
    count("ColdStart", function=function)
    return True


# --- error reporting --------------------------------------------------------------------------

_sentry_on = False


def init_error_reporting(answered: Callable[[BaseException], bool] = lambda exc: False, transport: Any = None) -> bool:
    """Report unexpected errors to Sentry when SENTRY_DSN is set (Chalice + Lambda integrations).

    `answered(exc)` says an exception became a 4xx answer (the client's mistake, not ours): those
    are dropped before sending. The composition root passes `api.errors.is_client_error`.
    """
    global _sentry_on
    dsn = os.environ.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        exc = (hint.get("exc_info") or (None, None, None))[1]
        if exc is not None and answered(exc):
            return None
        scrubbed: dict[str, Any] = scrub(event)
        return scrubbed

    options = _sentry_options(dsn, before_send)
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    _sentry_on = True
    return True


def _sentry_options(dsn: str, before_send: Callable[..., Any]) -> dict[str, Any]:
    """The SDK's settings: Chalice + Lambda integrations, no PII, no locals, log lines as breadcrumbs."""
    from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration
    from sentry_sdk.integrations.chalice import ChaliceIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    return {
        "dsn": dsn,
        "environment": os.environ.get("STAGE", "local"),
        "release": os.environ.get("APP_VERSION", "0.1.0"),
        # Log lines become breadcrumbs, not events: errors are reported once, explicitly.
        "integrations": [
            ChaliceIntegration(),
            AwsLambdaIntegration(timeout_warning=True),
            LoggingIntegration(level=logging.INFO, event_level=None),
        ],
        "before_send": before_send,
        "send_default_pii": False,
        "include_local_variables": False,  # locals may hold API keys and bodies
        "traces_sample_rate": float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    }


_SECRET = re.compile(r"(sk|whsec|rk|pk)_(test|live)_[A-Za-z0-9_\-]+|Bearer\s+\S+")
_SECRET_KEYS = {"authorization", "stripe-signature", "cookie", "secret", "api_key", "password", "token"}


def scrub(value: Any) -> Any:
    """Redact API keys, webhook secrets and bearer tokens anywhere in an error report."""
    if isinstance(value, dict):
        return {k: "[redacted]" if str(k).lower() in _SECRET_KEYS else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v) for v in value)
    if isinstance(value, str):
        return _SECRET.sub("[redacted]", value)
    return value


def error_context(**tags: str | None) -> None:
    """Tag later error reports of this scope (job, workspace, provider, correlation id)."""
    if not _sentry_on:
        return
    import sentry_sdk

    for key, value in tags.items():
        if value is not None:
            sentry_sdk.set_tag(key, value)


def report_exception(exc: BaseException, message: str, error_code: str) -> None:
    """Log an unexpected error once, at the boundary, and send it to Sentry when enabled."""
    logger.error(message, exc_info=exc, extra={"error_code": error_code})
    if _sentry_on:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)
