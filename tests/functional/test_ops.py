""" "What failed yesterday at 14:32 for workspace X?" answered from the jobs table and denials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalicelib import ops
from tests.functional.helpers import call, drain, purge

UTC = UTC


def test_failures_around_a_moment(api, make_tenant, admin, frozen_clock, capsys):
    purge()
    frozen_clock.set(datetime(2026, 11, 23, 14, 31, 40, tzinfo=UTC))
    x = make_tenant(limits={"requests_per_minute_user": 1})
    other = make_tenant()
    _, failed, _ = call(api, "POST", "/v1/jobs", x, {"prompt": "[fail:always] at 14:31"}, headers={"X-Request-Id": "corr-1"})
    status, _, _ = call(api, "POST", "/v1/jobs", x, {"prompt": "too fast"})
    assert status == 429
    call(api, "POST", "/v1/jobs", other, {"prompt": "[fail:always] someone else"})
    frozen_clock.set(datetime(2026, 11, 23, 14, 32, 10, tzinfo=UTC))
    drain()
    frozen_clock.set(datetime(2026, 11, 23, 15, 40, tzinfo=UTC))
    call(api, "POST", "/v1/jobs", x, {"prompt": "[fail:always] much later"})
    drain()

    result = ops.failures(x.workspace_id, datetime(2026, 11, 23, 14, 32, tzinfo=UTC), timedelta(minutes=10))
    assert [j["job_id"] for j in result["failed_jobs"]] == [failed["job"]["id"]]
    job = result["failed_jobs"][0]
    assert job["error"]["code"] == "provider_error" and job["provider"] == "local"
    assert job["correlation_id"] == "corr-1" and "provider_ms" in job["timings"] and "queue_wait_ms" in job["timings"]
    assert [(d["code"], d["scope"]) for d in result["denials"]] == [("rate_limited", "user")]

    status, body, _ = call(
        api,
        "GET",
        f"/admin/api/jobs?workspace_id={x.workspace_id}&status=failed&from=2026-11-23T14:27:00Z&to=2026-11-23T14:37:00Z",
        admin,
    )
    assert status == 200 and [j["id"] for j in body["data"]] == [failed["job"]["id"]]
    status, body, _ = call(api, "GET", "/admin/api/jobs?status=failed&from=2026-11-23T14:27:00Z&to=2026-11-23T14:37:00Z", admin)
    assert len(body["data"]) >= 2  # platform-wide: both workspaces' failures

    assert ops.main(["failures", "--workspace", x.workspace_id, "--at", "2026-11-23T14:32Z", "--window", "10m"]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out[out.index('{\n  "failed_jobs"') :].split("\n# Logs Insights")[0])
    assert printed["failed_jobs"][0]["job_id"] == failed["job"]["id"]
    assert f'workspace_id = "{x.workspace_id}"' in out
