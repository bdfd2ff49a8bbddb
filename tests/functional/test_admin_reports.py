"""The admin views' reads over a seeded platform: rollups agree with the ledger, filters, the
request budget of a 90-day chart, the failures window, CSV reports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.functional.helpers import call

pytestmark = pytest.mark.xdist_group("admin-seeded")  # one worker seeds once, then reads
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _csv(api, path: str, tenant) -> tuple[int, dict[str, str], list[list[str]]]:
    response = api.http.get(path, headers=tenant.auth)
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    return response.status_code, dict(response.headers), list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def seeded_env(moto_server):
    """Own tables holding two workspaces with ten days of jobs across providers (through the real
    accounting core) and a platform admin; seeded once for the module's read-only tests."""
    import os

    from chalicelib import clock
    from chalicelib.local.seed import seed
    from chalicelib.tenancy import create_workspace
    from tests.conftest import Tenant, use_tables

    use_tables(moto_server, f"t{os.getpid()}-seeded")
    try:
        made = seed(days=10, rng_seed=3, now=NOW)
        clock.set_clock(clock.FrozenClock(NOW))
        boss = create_workspace("Platform", "ops@platform.test", "enterprise", is_admin=True)
        clock.reset_clock()
        yield made, Tenant(boss.workspace.workspace_id, boss.owner.user_id, boss.key.key_id, boss.secret)
    finally:
        use_tables(moto_server, f"t{os.getpid()}-shared")


@pytest.fixture()
def seeded(seeded_env):
    return seeded_env[0]


@pytest.fixture()
def platform_admin(seeded_env):
    return seeded_env[1]


def test_overview_reads_rollups_that_agree_with_the_ledger(seeded, api, platform_admin):
    from chalicelib.store.models import LedgerEntryModel

    charged = cost = 0
    for ws in seeded["workspaces"]:
        for e in LedgerEntryModel.query(ws["workspace_id"]):
            if e.type == "charge":
                charged += -int(e.amount)
                cost += int((e.details or {}).get("cost_micro_usd", 0))
    status, body, _ = call(
        api, "GET", f"/admin/api/usage?group_by=provider_day&from={seeded['from']}&to={seeded['to']}", platform_admin
    )
    assert status == 200
    totals = body["totals"]
    assert totals["credits"] == charged > 0
    assert totals["jobs"] == seeded["jobs"]["succeeded"] and totals["failed"] == seeded["jobs"]["failed"]
    assert totals["revenue_micro_usd"] == charged * body["credit_value_micro_usd"]
    assert totals["gross_margin_micro_usd"] == totals["revenue_micro_usd"] - totals["cost_micro_usd"]
    assert {row["key"].split("#")[1] for row in body["data"]} == {"local", "gemini", "openai"}
    top = body["top_workspaces"]
    assert sorted(r["key"] for r in top) == sorted(w["workspace_id"] for w in seeded["workspaces"])
    assert sum(r["credits"] for r in top) == charged
    # Filters: one workspace, one provider, one user.
    acme = seeded["workspaces"][0]
    one = call(
        api, "GET", f"/admin/api/usage?workspace_id={acme['workspace_id']}&provider=openai&from={seeded['from']}", platform_admin
    )[1]
    openai_charged = sum(
        -int(e.amount) for e in LedgerEntryModel.query(acme["workspace_id"]) if e.type == "charge" and e.provider == "openai"
    )
    assert sum(r["credits"] for r in one["data"]) == openai_charged and one["top_workspaces"] == []
    by_user = call(
        api,
        "GET",
        f"/admin/api/usage?workspace_id={acme['workspace_id']}&user_id={acme['user_id']}&from={seeded['from']}",
        platform_admin,
    )[1]
    assert sum(r["credits"] for r in by_user["data"]) == sum(
        -int(e.amount) for e in LedgerEntryModel.query(acme["workspace_id"]) if e.type == "charge"
    )
    failed_days = call(api, "GET", f"/admin/api/usage?status=failed&from={seeded['from']}", platform_admin)[1]["data"]
    assert failed_days and all(r["failed"] > 0 for r in failed_days)


def test_a_90_day_platform_chart_is_a_handful_of_queries(seeded, api, platform_admin):
    """The overview's one call reads ROLLUP_SHARDS day ranges and, per month, every shard of the
    month's workspace totals (plus the unsharded key of older rows): the count does not grow
    with jobs or workspaces."""
    from chalicelib.accounting.keys import ROLLUP_SHARDS
    from chalicelib.store.request_counter import RequestCounter

    counter = RequestCounter()
    counter.install()
    try:
        counter.reset()
        status, body, _ = call(api, "GET", "/admin/api/usage?group_by=provider_day&from=2026-08-27&to=2026-11-24", platform_admin)
    finally:
        counter.uninstall()
    assert status == 200 and body["data"]
    months = 4  # August to November
    auth = counter.calls["GetItem"] + counter.calls["BatchGetItem"]
    assert counter.calls["Query"] == ROLLUP_SHARDS + months * (ROLLUP_SHARDS + 1), counter.calls
    assert counter.calls["Scan"] == 0 and auth <= 3, counter.calls


def test_failures_window_lists_failed_jobs_with_timings_and_denials(seeded, api, platform_admin):
    pixel = seeded["workspaces"][1]
    status, jobs, _ = call(
        api,
        "GET",
        f"/admin/api/jobs?workspace_id={pixel['workspace_id']}&status=failed"
        f"&from={seeded['from']}&to=2026-11-24T12:00:00Z&limit=100",
        platform_admin,
    )
    assert status == 200 and jobs["data"]
    for job in jobs["data"]:
        assert job["status"] == "failed" and job["error"]["code"] and job["workspace_id"] == pixel["workspace_id"]
        assert {"queue_wait_ms", "provider_ms", "settlement_ms"} <= set(job["timings"])
    gemini_only = call(
        api,
        "GET",
        f"/admin/api/jobs?workspace_id={pixel['workspace_id']}&status=failed&provider=gemini"
        f"&from={seeded['from']}&to=2026-11-24T12:00:00Z&limit=100",
        platform_admin,
    )[1]["data"]
    assert gemini_only and all(j["provider"] == "gemini" for j in gemini_only)
    none = call(
        api,
        "GET",
        f"/admin/api/jobs?workspace_id={pixel['workspace_id']}&status=failed&provider=local"
        f"&from={seeded['from']}&to=2026-11-24T12:00:00Z&limit=100",
        platform_admin,
    )[1]["data"]
    assert {j["id"] for j in none}.isdisjoint(j["id"] for j in gemini_only)  # the filter really filters
    status, denials, _ = call(
        api,
        "GET",
        f"/admin/api/denials?workspace_id={pixel['workspace_id']}&from=2026-11-24T11:00:00Z&to=2026-11-24T12:00:00Z",
        platform_admin,
    )
    assert status == 200 and [d["code"] for d in denials["data"]] == ["rate_limited"] * 3
    assert all(d["scope"] == "workspace" and d["workspace_id"] == pixel["workspace_id"] for d in denials["data"])
    platform = call(api, "GET", "/admin/api/denials?from=2026-11-24T11:00:00Z&to=2026-11-24T12:00:00Z", platform_admin)[1]
    assert len(platform["data"]) >= 3


def test_usage_csv_by_workspace_day_provider_matches_the_rollups(seeded, api, platform_admin):
    status, headers, rows = _csv(
        api,
        f"/admin/api/reports/usage.csv?group_by=workspace_day_provider&from={seeded['from']}&to={seeded['to']}",
        platform_admin,
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith('attachment; filename="usage-workspace_day_provider-')
    assert rows[0][:5] == ["day", "workspace_id", "provider", "model", "jobs"]
    body = rows[1:]
    assert {r[1] for r in body} == {w["workspace_id"] for w in seeded["workspaces"]}
    credits = rows[0].index("credits")
    overview = call(api, "GET", f"/admin/api/usage?from={seeded['from']}&to={seeded['to']}", platform_admin)[1]["totals"]
    assert sum(int(r[credits]) for r in body) == overview["credits"]
    status, _, by_day = _csv(
        api, f"/admin/api/reports/usage.csv?group_by=day&from={seeded['from']}&to={seeded['to']}", platform_admin
    )
    assert status == 200 and len(by_day) == 1 + 10 and sum(int(r[credits - 3]) for r in by_day[1:]) == overview["credits"]


def test_recent_seeded_jobs_stored_real_images_counted_by_the_library(seeded, api, platform_admin):
    """The seed stores the local provider's pictures for the last IMAGE_DAYS days' successful jobs
    through the worker's path: objects in S3, library rows, and counters that agree with both."""
    from datetime import timedelta

    from chalicelib.generation import storage
    from chalicelib.local.seed import IMAGE_DAYS
    from chalicelib.store.models import ImageModel, JobModel

    for ws in seeded["workspaces"]:
        rows = list(ImageModel.query(ws["workspace_id"]))
        assert rows, ws["name"]
        jobs = {j.job_id: j for j in JobModel.query(ws["workspace_id"])}
        for row in rows:
            job = jobs[row.job_id]
            assert job.status == "succeeded" and job.created_at >= NOW - timedelta(days=IMAGE_DAYS + 1)
            assert [i["id"] for i in job.images].count(row.image_id) == 1
            assert storage.get_image(row.s3_key)[:8] == b"\x89PNG\r\n\x1a\n"
        old = [j for j in jobs.values() if j.status == "succeeded" and j.created_at < NOW - timedelta(days=IMAGE_DAYS + 1)]
        assert old and all(not j.images for j in old)
        status, body, _ = call(api, "GET", f"/admin/api/workspaces/{ws['workspace_id']}/storage", platform_admin)
        assert status == 200, body
        assert body["storage"]["images"] == len(rows)
        assert body["storage"]["image_bytes"] == sum(int(r.bytes) for r in rows)
