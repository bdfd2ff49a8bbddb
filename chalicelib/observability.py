"""The Logger / Metrics / Tracer singletons and the correlation-id helpers.

Every log line is JSON with the keys operators filter on: request_id, correlation_id, route,
user_id, workspace_id, job_id, latency_ms, error_code. Keys are appended per thread, because
the local API server and the worker handle requests on several threads at once.
"""

from __future__ import annotations

import logging
import os
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
