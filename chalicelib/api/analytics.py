"""/v1/analytics: a workspace's usage, performance and costs, from pre-aggregated rows.

Each route parses its query (unknown names, bad times, ranges and choices are 400 naming the
parameter), names `analytics:read` (every role: DESIGN.md's matrix) and makes one service call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint
from chalice.app import Response

from chalicelib.api.http import authenticate, query_params
from chalicelib.api.routing import render, route
from chalicelib.lazy import lazy_module
from chalicelib.tenancy import permissions

if TYPE_CHECKING:
    import chalicelib.analytics.service as service
    import chalicelib.api.params as params
    import chalicelib.api.responses as responses
    import chalicelib.billing.catalog as catalog
else:
    catalog = lazy_module("chalicelib.billing.catalog")
    params = lazy_module("chalicelib.api.params")
    responses = lazy_module("chalicelib.api.responses")
    service = lazy_module("chalicelib.analytics.service")

analytics = Blueprint(__name__)

USAGE_QUERY = ("from", "to", "bucket", "group_by", "user_id", "key_id", "provider", "model")
PERFORMANCE_QUERY = ("from", "to", "provider", "model")
COSTS_QUERY = ("from", "to", "user_id", "key_id", "provider", "model")


def _window(query: dict[str, str], granularity: str) -> service.Window:
    return service.window(params.parse_time(query, "from"), params.parse_time(query, "to"), granularity)


def _filters(query: dict[str, str]) -> service.Filters:
    found = {name: params.identifier(query, name) for name in ("user_id", "key_id", "provider", "model") if name in query}
    return service.Filters(**found)


@route(analytics, "/v1/analytics/usage", methods=["GET"])
def analytics_usage() -> Response:
    """Jobs, images, credits, cost and tokens per hour or day, optionally per member, key, provider or model."""
    caller = authenticate(analytics.current_request, permissions.ANALYTICS_READ)
    query = params.known(query_params(analytics.current_request), USAGE_QUERY)
    bucket = str(params.choice(query, "bucket", service.BUCKETS, "day"))
    group_by = params.choice(query, "group_by", service.GROUPINGS, None)
    series = service.usage(caller.workspace_id, _window(query, bucket), bucket, group_by, _filters(query))
    return render(responses.AnalyticsUsage.of(series))


@route(analytics, "/v1/analytics/performance", methods=["GET"])
def analytics_performance() -> Response:
    """Per provider and model: jobs, failure rate, p50/p95 of job duration, queue wait and provider time."""
    caller = authenticate(analytics.current_request, permissions.ANALYTICS_READ)
    query = params.known(query_params(analytics.current_request), PERFORMANCE_QUERY)
    window = _window(query, service.DAY)
    return render(responses.AnalyticsPerformance.of(service.performance(caller.workspace_id, window, _filters(query)), window))


@route(analytics, "/v1/analytics/costs", methods=["GET"])
def analytics_costs() -> Response:
    """Credits and their list-price money per member, key and model."""
    caller = authenticate(analytics.current_request, permissions.ANALYTICS_READ)
    query = params.known(query_params(analytics.current_request), COSTS_QUERY)
    report = service.costs(caller.workspace_id, _window(query, service.DAY), _filters(query))
    return render(responses.AnalyticsCosts.of(report, catalog.CREDIT_LIST_PRICE_MICRO_USD))
