"""The Chalice app: middleware, blueprints and handler declarations. Nothing else lives here."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Cron, Rate, Response

from chalicelib.api.account import account
from chalicelib.api.admin import admin
from chalicelib.api.analytics import analytics
from chalicelib.api.billing import billing
from chalicelib.api.collections import collections
from chalicelib.api.docs import docs
from chalicelib.api.errors import ApiError, is_client_error, to_api_error
from chalicelib.api.gallery import gallery
from chalicelib.api.http import (
    CHALICE_ERROR_CODES,
    SECURITY_HEADERS,
    check_body,
    error_response,
    json_response,
    request_id_of,
    trace_id,
)
from chalicelib.api.integrations import integrations
from chalicelib.api.jobs import jobs
from chalicelib.api.library import library
from chalicelib.api.pages import pages
from chalicelib.api.routing import route
from chalicelib.api.teams import teams
from chalicelib.api.templates import templates
from chalicelib.api.webhooks import webhooks
from chalicelib.domain import DomainError
from chalicelib.lazy import lazy_module
from chalicelib.observability import (
    bind,
    count,
    error_context,
    init_error_reporting,
    logger,
    note_cold_start,
    unbind,
)
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    import chalicelib.billing.topup as _topup
    import chalicelib.generation.worker as _worker
    import chalicelib.tasks as _tasks
    import chalicelib.webhooks.delivery as _webhook_delivery
else:  # each function's own code loads when it first runs: the API's cold start carries none of it
    _topup = lazy_module("chalicelib.billing.topup")
    _worker = lazy_module("chalicelib.generation.worker")
    _tasks = lazy_module("chalicelib.tasks")
    _webhook_delivery = lazy_module("chalicelib.webhooks.delivery")

app = Chalice(app_name="imagegen")
init_error_reporting(answered=is_client_error)  # only when SENTRY_DSN is set; otherwise nothing is imported
app.api.binary_types = []
app.register_blueprint(jobs)
app.register_blueprint(account)
app.register_blueprint(admin)
app.register_blueprint(pages)
app.register_blueprint(billing)
app.register_blueprint(templates)
app.register_blueprint(library)
app.register_blueprint(teams)
app.register_blueprint(webhooks)
app.register_blueprint(docs)
app.register_blueprint(integrations)
app.register_blueprint(analytics)
app.register_blueprint(collections)
app.register_blueprint(gallery)


@app.middleware("http")
def envelope(event: Any, get_response: Any) -> Response:
    """Request id, one structured log line per request, and the error envelope for everything."""
    started = time.perf_counter()
    note_cold_start("api")
    request_id = request_id_of(event)
    # A malformed X-Correlation-Id (over 128 chars, or outside [A-Za-z0-9._:-]) is ignored, not refused.
    correlation_id = trace_id((event.headers or {}).get("x-correlation-id")) or request_id
    unbind()
    route = f"{event.method} {(event.context or {}).get('resourcePath', event.path)}"
    bind(request_id=request_id, correlation_id=correlation_id, route=route)
    error_context(request_id=request_id, correlation_id=correlation_id, route=route)
    if event.context is not None:
        event.context["correlation_id"] = correlation_id
    try:
        check_body(event.raw_body or b"")  # size and nesting, before any route parses it
        response = get_response(event)
    except ApiError as error:
        response = error_response(error, request_id)
    except DomainError as error:  # raised before any route (e.g. a deployment missing a setting)
        response = error_response(to_api_error(error), request_id)
    response = _normalise(response, request_id)
    response.headers["X-Request-Id"] = request_id
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    latency = int((time.perf_counter() - started) * 1000)
    code = None
    if response.status_code >= 400:
        code = _error_code(response)
    log = logger.error if response.status_code >= 500 else logger.info
    log("request", extra={"status": response.status_code, "latency_ms": latency, "error_code": code})
    count("Requests", route=route, status=str(response.status_code))
    return response


def _error_code(response: Response) -> str | None:
    try:
        return json.loads(response.body)["error"]["code"]
    except (TypeError, ValueError, KeyError):
        return None


def _normalise(response: Response, request_id: str) -> Response:
    """Chalice's own errors ({"Code","Message"}: 404, 405, 415, 500) → our error envelope,
    keeping their headers (a 405's Allow)."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        status = response.status_code
        code = CHALICE_ERROR_CODES.get(status, "invalid_request")
        if status >= 500:
            message = "internal error"
        elif status == 405:
            message = f"this path does not accept that method; allowed: {response.headers.get('Allow', '')}"
        elif status == 415:  # Chalice's message repeats the Content-Type header: never echo a header
            message = "unsupported media type: send Content-Type: application/json"
        else:
            message = str(body.get("Message", ""))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return json_response({"error": {"code": code, "message": message, "request_id": request_id}}, status, headers)
    return response


@route(app, "/healthz", methods=["GET"])
def healthz() -> Response:
    return json_response({"status": "ok", "version": get_settings().version})


# --- the worker, the DLQ handler and the schedules ---------------------------------------------


@app.lambda_function(name="worker")
def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note_cold_start("worker")
    return _worker.handle_batch(event, context)


@app.lambda_function(name="dead_letters")
def dead_letters(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _worker.handle_dead_letters(event, context)


@app.lambda_function(name="billing_worker")
def billing_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note_cold_start("billing_worker")
    return _topup.handle_billing_batch(event, context)


@app.schedule(Cron(5, 0, 1, "*", "?", "*"), name="monthly_reset")
def monthly_reset(event: Any) -> dict[str, Any]:
    return _tasks.monthly_reset()


@app.schedule(Rate(5, unit=Rate.MINUTES), name="release_stale_holds")
def release_stale_holds(event: Any) -> dict[str, Any]:
    return _tasks.release_stale_holds()


@app.schedule(Rate(1, unit=Rate.HOURS), name="reconcile")
def reconcile(event: Any) -> dict[str, Any]:
    return _tasks.reconcile()


@app.schedule(Rate(1, unit=Rate.HOURS), name="purge_library")
def purge_library(event: Any) -> dict[str, Any]:
    return _tasks.purge_library()


# --- outgoing webhooks ---------------------------------------------------------------------------


@app.lambda_function(name="webhooks_worker")
def webhooks_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note_cold_start("webhooks_worker")
    return _webhook_delivery.handle_webhooks_batch(event, context)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_outbox")
def sweep_outbox(event: Any) -> dict[str, Any]:
    return _tasks.sweep_outbox()


# --- admin: webhooks view (issue 14) --------------------------------------------------------------
from chalicelib.api.admin_webhooks import admin_webhooks  # noqa: E402

app.register_blueprint(admin_webhooks)
# --- library exports (issue 12): the routes and the queue's worker --------------------------------

from chalicelib.api.exports import exports  # noqa: E402  (appended section: see the blueprints above)

app.register_blueprint(exports)

if TYPE_CHECKING:
    import chalicelib.library.export_worker as _export_worker
else:
    _export_worker = lazy_module("chalicelib.library.export_worker")


@app.lambda_function(name="exports_worker")
def exports_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note_cold_start("exports_worker")
    return _export_worker.handle_exports_batch(event, context)


# --- marketplace (issue 16): listings, purchases, earnings, payouts, the Connect webhook ----------
from chalicelib.api.marketplace import marketplace  # noqa: E402  (appended section: see the blueprints above)

app.register_blueprint(marketplace)
# --- custom model training (issue 16): the routes and the trainings queue's worker ----------------

from chalicelib.api.trainings import trainings  # noqa: E402  (appended section: see the blueprints above)

app.register_blueprint(trainings)

if TYPE_CHECKING:
    import chalicelib.training.worker as _training_worker
else:
    _training_worker = lazy_module("chalicelib.training.worker")


@app.lambda_function(name="trainings_worker")
def trainings_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    note_cold_start("trainings_worker")
    return _training_worker.handle_trainings_batch(event, context)


# --- mobile (issue 16): devices, push settings, offline sync; pushes go out from the webhooks worker ---
from chalicelib.api.mobile import mobile  # noqa: E402  (appended section: see the blueprints above)

app.register_blueprint(mobile)
# --- marketplace payouts (issue 16): the sweeper of payouts left `requested` ----------------------


@app.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_payouts")
def sweep_payouts(event: Any) -> dict[str, Any]:
    return _tasks.sweep_payouts()
