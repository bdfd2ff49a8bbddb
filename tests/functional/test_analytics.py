"""Customer analytics: the aggregates agree with the jobs themselves (read back one by one through
the jobs API), each call is one Query whatever the number of jobs, bad input is a 400 naming the
parameter, and another workspace sees none of it."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from chalicelib.analytics import histogram
from chalicelib.store.request_counter import RequestCounter
from tests.functional.helpers import call, drain, purge
from tests.functional.signin_helpers import sign_in, signed_in
from tests.functional.teams_helpers import bearer, join

DAY = "from=2026-11-24&to=2026-11-24T23:59:59Z"


def _job(api: Any, who: Any, prompt: str, n: int = 1) -> str:
    status, body, _ = call(api, "POST", "/v1/jobs", who, {"prompt": prompt, "n": n})
    assert status == 202, body
    return str(body["job"]["id"])


@pytest.fixture(scope="module")
def story(aws):
    """Workspace A: the owner with two keys, a member with theirs; jobs in two hours, one failed
    in each. Every job waits 3 s in the queue (the clock moves before the worker runs). Built
    once: the tests below only read it."""
    from datetime import UTC, datetime

    from chalicelib import clock
    from chalicelib.tenancy import create_workspace
    from tests.conftest import Tenant
    from tests.functional.helpers import app_client

    frozen = clock.FrozenClock(datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC))
    clock.set_clock(frozen)
    try:
        with app_client() as api:
            purge()
            made_ws = [create_workspace("Analytics", f"analytics-{n}-{id(frozen)}@example.test", "pro") for n in range(2)]
            a, b = (Tenant(m.workspace.workspace_id, m.owner.user_id, m.key.key_id, m.secret) for m in made_ws)
            platform = create_workspace("Ops", f"ops-{id(frozen)}@example.test", "enterprise", is_admin=True)
            admin = Tenant(platform.workspace.workspace_id, platform.owner.user_id, platform.key.key_id, platform.secret)
            member = join(api, a, admin, "member")
            second = call(api, "POST", "/v1/keys", a, {"name": "second"})[1]
            owner_2 = Caller(bearer(second["secret"]))
            made: list[str] = []

            def run(*jobs: tuple[Any, str, int]) -> None:
                made.extend(_job(api, who, prompt, n) for who, prompt, n in jobs)
                frozen.advance(seconds=3)
                drain()

            run((a, "a fox", 1), (a, "a fox [fail:safety]", 1), (owner_2, "two owls", 2), (member, "a cat", 1))
            frozen.advance(minutes=70)  # 13:10: the next hour
            run((a, "a bear", 1), (member, "a dog [fail:safety]", 1), (member, "a hen", 1))
            jobs = [call(api, "GET", f"/v1/jobs/{job_id}", a)[1]["job"] for job_id in made]
    finally:
        clock.reset_clock()
    return {"a": a, "b": b, "admin": admin, "member": member, "second_key": second["key"]["id"], "jobs": jobs}


class Caller:
    """Whoever `call` should send these headers for."""

    def __init__(self, auth: dict[str, str]) -> None:
        self.auth = auth


def _expected(jobs: list[dict[str, Any]], group: Any) -> dict[Any, Counter]:
    """What the analytics must say, summed from the jobs as the jobs API shows them."""
    out: dict[Any, Counter] = defaultdict(Counter)
    for job in jobs:
        totals = out[group(job)]
        totals["jobs" if job["status"] == "succeeded" else "failed"] += 1
        totals["credits"] += job["usage"]["credits_charged"]
        totals["images"] += len(job["images"])
    return out


def test_usage_by_member_per_hour_matches_the_jobs(api, story):
    from chalicelib.store.models import JobModel

    a = story["a"]
    assert {j["status"] for j in story["jobs"]} == {"succeeded", "failed"}
    owners = {j["id"]: JobModel.get(a.workspace_id, j["id"]).user_id for j in story["jobs"]}
    status, body, _ = call(api, "GET", f"/v1/analytics/usage?bucket=hour&group_by=member&{DAY}", a)
    assert status == 200, body
    got = {
        (p["bucket"], p["key"]): Counter({k: p[k] for k in ("jobs", "failed", "credits", "images") if p[k]}) for p in body["data"]
    }
    hours = {j["id"]: j["finished_at"][:13] + ":00:00Z" for j in story["jobs"]}
    want = _expected(story["jobs"], lambda j: (hours[j["id"]], owners[j["id"]]))
    assert got == {k: +v for k, v in want.items()}
    assert {p["bucket"] for p in body["data"]} == {"2026-11-24T12:00:00Z", "2026-11-24T13:00:00Z"}
    assert [p["bucket"] for p in body["data"]] == sorted(p["bucket"] for p in body["data"])


def test_usage_by_key_and_by_day(api, story):
    from chalicelib.store.models import JobModel

    a = story["a"]
    keys = {j["id"]: JobModel.get(a.workspace_id, j["id"]).key_id for j in story["jobs"]}
    body = call(api, "GET", f"/v1/analytics/usage?group_by=key&{DAY}", a)[1]
    got = {p["key"]: (p["jobs"], p["failed"], p["credits"]) for p in body["data"]}
    want = _expected(story["jobs"], lambda j: keys[j["id"]])
    assert got == {k: (v["jobs"], v["failed"], v["credits"]) for k, v in want.items()}
    assert len(got) == 3 and story["second_key"] in got  # the owner's two keys and the member's
    whole = call(api, "GET", f"/v1/analytics/usage?{DAY}", a)[1]["data"]
    assert [(p["bucket"], p["key"], p["jobs"], p["failed"]) for p in whole] == [("2026-11-24T00:00:00Z", None, 5, 2)]
    filtered = call(api, "GET", f"/v1/analytics/usage?group_by=model&user_id={story['member'].user_id}&{DAY}", a)[1]
    assert [(p["key"], p["jobs"], p["failed"]) for p in filtered["data"]] == [("local/local-v1", 2, 1)]


def test_performance_failure_rate_and_timings(api, story):
    status, body, _ = call(api, "GET", f"/v1/analytics/performance?{DAY}&provider=local", story["a"])
    assert status == 200, body
    [row] = body["data"]
    assert (row["provider"], row["model"], row["jobs"], row["succeeded"], row["failed"]) == ("local", "local-v1", 7, 5, 2)
    assert row["failure_rate"] == round(2 / 7, 4)
    # Every job was admitted, then ran 3 s later: the means are exact, the percentiles fall in
    # the bucket holding 3,000 ms (the histograms' resolution).
    low, high = 2000, 3000
    assert row["duration"]["count"] == 7 and row["duration"]["mean_ms"] == 3000
    assert row["queue_wait"]["count"] == 7 and row["queue_wait"]["mean_ms"] == 3000
    assert low < row["p50_ms"] <= high and low < row["p95_ms"] <= high
    assert row["p50_ms"] == row["duration"]["p50_ms"] and row["p50_ms"] <= row["p95_ms"]
    assert row["provider_time"]["count"] == 7 and row["provider_time"]["p95_ms"] is not None
    assert call(api, "GET", f"/v1/analytics/performance?{DAY}&provider=openai", story["a"])[1]["data"] == []


def test_costs_in_credits_and_list_price(api, story):
    from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD

    a, member = story["a"], story["member"]
    status, body, _ = call(api, "GET", f"/v1/analytics/costs?{DAY}", a)
    assert status == 200, body
    credits = sum(j["usage"]["credits_charged"] for j in story["jobs"])
    assert credits > 0
    assert body["total"] == {
        "key": None,
        "jobs": 5,
        "failed": 2,
        "credits": credits,
        "list_price_micro_usd": credits * CREDIT_LIST_PRICE_MICRO_USD,
        "list_price_cents": credits * CREDIT_LIST_PRICE_MICRO_USD // 10_000,
    }
    by_member = {line["key"]: line["credits"] for line in body["by_member"]}
    assert by_member[member.user_id] == sum(
        j["usage"]["credits_charged"] for j in story["jobs"] if j["prompt"] in ("a cat", "a dog [fail:safety]", "a hen")
    )
    assert sum(by_member.values()) == sum(line["credits"] for line in body["by_key"]) == credits
    assert [line["key"] for line in body["by_model"]] == ["local/local-v1"]
    credits_order = [line["credits"] for line in body["by_member"]]
    assert credits_order == sorted(credits_order, reverse=True)


def test_another_workspace_sees_nothing(api, story):
    b = story["b"]
    for path in ("usage?group_by=member", "performance?", "costs?"):
        status, body, _ = call(api, "GET", f"/v1/analytics/{path}&{DAY}", b)
        assert status == 200, body
        assert body.get("data", []) == [] and body.get("by_member", []) == []
    assert call(api, "GET", f"/v1/analytics/costs?{DAY}", b)[1]["total"]["credits"] == 0


def test_a_signed_in_viewer_reads_them_and_jobs_without_a_key_group_as_null(api, story, make_tenant, admin, frozen_clock):
    a = story["a"]
    viewer = join(api, a, admin, "viewer")
    token = sign_in(viewer.email)
    status, body, _ = call(api, "GET", f"/v1/analytics/costs?{DAY}", headers=signed_in(token, a.workspace_id))
    assert status == 200 and body["total"]["jobs"] == 5, body
    c = make_tenant()
    owner_token = sign_in(call(api, "GET", "/v1/me", c)[1]["user"]["email"])
    _job(api, c, "with a key")
    _job(api, Caller(signed_in(owner_token)), "signed in")
    drain()
    keys = call(api, "GET", f"/v1/analytics/usage?group_by=key&{DAY}", c)[1]["data"]
    assert sorted((p["key"] or "", p["jobs"]) for p in keys) == [("", 1), (c.key_id, 1)]


def _counted(api: Any, tenant: Any, path: str) -> Counter:
    counter = RequestCounter()
    counter.install()
    try:
        counter.reset()
        status, body, _ = call(api, "GET", path, tenant)
    finally:
        counter.uninstall()
    assert status == 200, body
    return counter.calls


@pytest.mark.parametrize(
    "path",
    [
        "/v1/analytics/usage?bucket=hour&group_by=member&from=2026-08-24&to=2026-11-24T23:00:00Z",
        "/v1/analytics/usage?group_by=model&from=2025-11-25&to=2026-11-24",
        "/v1/analytics/performance?from=2025-11-25&to=2026-11-24",
        "/v1/analytics/costs?from=2025-11-25&to=2026-11-24",
    ],
)
def test_one_query_per_call_whatever_the_number_of_jobs(api, make_tenant, admin, frozen_clock, path):
    a = make_tenant("pro")
    member = join(api, a, admin, "member")
    _job(api, a, "first")
    drain()
    before = _counted(api, a, path)
    for n in range(12):  # more jobs, two people, the same hour: more counts in the same rows
        _job(api, member if n % 2 else a, f"more {n}")
    drain()
    after = _counted(api, a, path)
    assert before["Query"] == after["Query"] == 1, (before, after)
    assert before["Scan"] == after["Scan"] == 0
    assert sum(after.values()) <= 4, after  # the query, and the key, workspace and user reads of authentication
    if "costs" in path:
        assert call(api, "GET", path, a)[1]["total"]["jobs"] == 13


BAD = [
    ("usage?bucket=week", "bucket"),
    ("usage?group_by=user", "group_by"),
    ("usage?from=yesterday", "from"),
    ("usage?to=2026-13-01", "to"),
    ("usage?from=2026-11-24&to=2026-11-01", "from"),
    ("usage?bucket=hour&from=2026-01-01&to=2026-11-24", "from"),  # hours: at most 93 days
    ("usage?from=2024-01-01&to=2026-11-24", "from"),  # days: at most 366
    ("usage?provider=a%20b", "provider"),
    ("usage?colour=red", "colour"),
    ("performance?group_by=member", "group_by"),  # the performance read takes no grouping
    ("performance?user_id=usr_x", "user_id"),
    ("costs?bucket=day", "bucket"),
]


@pytest.mark.parametrize(("path", "field"), BAD)
def test_bad_input_is_a_400_naming_the_parameter(api, make_tenant, path, field):
    tenant = make_tenant()
    status, body, _ = call(api, "GET", f"/v1/analytics/{path}", tenant)
    assert (status, body["error"]["code"], body["error"].get("field")) == (400, "invalid_request", field), body


def test_histogram_buckets_of_the_fixed_bounds():
    assert histogram.bucket_of(0) == 0 and histogram.bucket_of(100) == 0 and histogram.bucket_of(101) == 1
    assert histogram.bucket_of(10**9) == histogram.BUCKETS - 1
