"""Usage from rollups, admin limit overrides taking effect, user bans, quotas."""

from __future__ import annotations

from chalicelib.accounting.errors import RateLimitDenied
from tests.functional.accounting_helpers import UNLIMITED, admit
from tests.functional.helpers import call, drain, purge


def test_usage_grouped_by_day_provider_user_model(api, make_tenant):
    purge()
    t = make_tenant(limits=UNLIMITED)
    for n in (1, 2, 3):
        call(api, "POST", "/v1/jobs", t, {"prompt": f"usage {n}", "n": n})
    call(api, "POST", "/v1/jobs", t, {"prompt": "[fail:always] counted as failed"})
    drain()
    expected = {"jobs": 3, "images": 6, "credits": 6, "cost_micro_usd": 0, "input_tokens": 0, "output_tokens": 0}
    for group_by, key in (("provider", "local"), ("model", "local/local-v1"), ("user", t.user_id)):
        status, body, _ = call(api, "GET", f"/v1/usage?group_by={group_by}", t)
        assert status == 200 and len(body["data"]) == 1, body
        row = body["data"][0]
        assert row["key"] == key and {k: row[k] for k in expected} == expected
    status, body, _ = call(api, "GET", "/v1/usage?group_by=day", t)
    assert len(body["data"]) == 1 and body["data"][0]["failed"] == 1 and body["data"][0]["credits"] == 6
    status, ledger, _ = call(api, "GET", "/v1/ledger?limit=3", t)
    assert len(ledger["data"]) == 3 and ledger["next_cursor"]
    status, rest, _ = call(api, "GET", f"/v1/ledger?limit=100&cursor={ledger['next_cursor']}", t)
    assert {e["id"] for e in ledger["data"]}.isdisjoint({e["id"] for e in rest["data"]})
    types = [e["type"] for e in ledger["data"] + rest["data"]]
    assert types.count("charge") == 3 and types.count("release") == 1 and types.count("grant") == 1


def test_admin_limit_override_takes_effect_and_is_audited(api, make_tenant, admin):
    purge()
    t = make_tenant()
    status, body, _ = call(
        api,
        "PUT",
        f"/admin/api/workspaces/{t.workspace_id}/limits",
        admin,
        {"requests_per_minute_user": 2, "reason": "throttle noisy tenant"},
    )
    assert status == 200 and body["limits"]["requests_per_minute_user"] == 2
    answers = [call(api, "POST", "/v1/jobs", t, {"prompt": f"x{i}"}) for i in range(4)]
    assert [a[0] for a in answers] == [202, 202, 429, 429]
    assert [a[2]["RateLimit-Remaining"] for a in answers] == ["1", "0", "0", "0"]
    assert all(a[2]["RateLimit-Limit"] == "2" for a in answers)
    status, err, headers = call(api, "POST", "/v1/jobs", t, {"prompt": "again"})
    assert err["error"]["scope"] == "user" and int(headers["Retry-After"]) >= 1 and headers["RateLimit-Remaining"] == "0"
    status, detail, _ = call(api, "GET", f"/admin/api/workspaces/{t.workspace_id}", admin)
    limits_audit = [a for a in detail["audit"] if a["action"] == "workspace.limits"]
    assert limits_audit[0]["after"]["requests_per_minute_user"] == 2 and limits_audit[0]["reason"] == "throttle noisy tenant"
    for bad in ({"requests_per_minute_user": -1}, {"requests_per_minute_user": "2"}, {"providers": ["dalle"]}, {"x": 1}):
        assert call(api, "PUT", f"/admin/api/workspaces/{t.workspace_id}/limits", admin, bad)[0] == 400
    purge()


def test_daily_credit_quota_gives_402_quota_exceeded(api, make_tenant):
    purge()
    t = make_tenant(limits={**UNLIMITED, "credits_per_day": 5})
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "a", "n": 4})[0] == 202
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "b", "n": 2})
    assert status == 402 and err["error"]["code"] == "quota_exceeded"
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "c", "n": 1})
    assert status == 202
    purge()


def test_insufficient_credits_is_402_with_figures(api, make_tenant):
    purge()
    t = make_tenant(plan="free", limits=UNLIMITED)
    from chalicelib import clock
    from chalicelib.accounting.ledger import adjust

    adjust(t.workspace_id, -48, reason="leave 2", actor="test", now=clock.now())
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "big", "n": 3})
    assert status == 402 and err["error"]["code"] == "insufficient_credits"
    assert err["error"]["required"] == 3 and err["error"]["available"] == 2
    _, _, headers = call(api, "POST", "/v1/jobs", t, {"prompt": "big", "n": 3})
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
    _, balance, _ = call(api, "GET", "/v1/balance", t)
    assert balance["available"] == 2 and balance["held"] == 0


def test_provider_not_in_plan_is_403(api, make_tenant):
    t = make_tenant(plan="free")
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "x", "provider": "openai"})
    assert status == 403 and err["error"]["code"] == "forbidden"


def _colleague(t) -> dict[str, str]:
    """A second user of the same workspace, with a key of their own (teams are not built yet)."""
    from chalicelib import clock, ids
    from chalicelib.store import users
    from chalicelib.tenancy import create_key

    now = clock.now()
    user = users.new_user(
        ids.new_id("usr", now), t.workspace_id, "colleague@example.test", role="member", is_admin=False, now=now
    )
    user.save()
    made = create_key(user, "colleague")
    return {"Authorization": f"Bearer {made.secret}"}


def test_banned_user_is_refused_but_colleagues_are_not(api, make_tenant, admin):
    purge()
    t = make_tenant(limits=UNLIMITED)
    colleague = _colleague(t)
    status, made, _ = call(api, "POST", "/v1/keys", t, {"name": "second"})
    second = {"Authorization": f"Bearer {made['secret']}"}
    assert call(api, "POST", f"/admin/api/users/{t.user_id}/ban", admin, {"reason": "abuse"})[0] == 200
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "x"})
    assert status == 403 and err["error"]["code"] == "account_banned"
    status, err, _ = call(api, "POST", "/v1/jobs", None, {"prompt": "x"}, headers=second)
    assert status == 403 and err["error"]["code"] == "account_banned"  # every key of the banned user
    status, body, _ = call(api, "POST", "/v1/jobs", None, {"prompt": "x"}, headers=colleague)
    assert status == 202, body  # the workspace and its other people go on
    assert call(api, "POST", f"/admin/api/users/{t.user_id}/unban", admin, {"reason": "ok"})[0] == 200
    assert call(api, "POST", "/v1/jobs", t, {"prompt": "x"})[0] == 202
    purge()


def test_queue_cap_is_429_with_its_own_scope(make_tenant):
    """Past `max_queued_jobs` admitted-and-unfinished jobs the answer is 429 scope "queue",
    with a message that says what is full (not a rate limit)."""
    t = make_tenant(limits={**UNLIMITED, "max_concurrent_jobs": 1, "max_queued_jobs": 2})
    admit(t)
    admit(t)
    try:
        admit(t)
    except RateLimitDenied as denied:
        assert denied.reason == "rate_limited" and denied.scope == "queue"
        assert "2 jobs are already queued or running" in denied.message
    else:
        raise AssertionError("a third unfinished job must be refused past the queued cap")


def test_a_job_above_the_daily_token_quota_is_402_naming_that_quota(api, make_tenant):
    purge()
    t = make_tenant(limits={**UNLIMITED, "tokens_per_day": 1})
    body = {"prompt": "a prompt of some tokens", "n": 1, "provider": "gemini"}  # priced by the token
    status, err, _ = call(api, "POST", "/v1/jobs", t, body)
    assert (status, err["error"]["code"], err["error"]["quota"]) == (402, "quota_exceeded", "tokens_per_day"), err
    assert err["error"]["message"] == "job exceeds the daily token quota"
    t = make_tenant(limits={**UNLIMITED, "credits_per_day": 1})
    status, err, _ = call(api, "POST", "/v1/jobs", t, {"prompt": "two images", "n": 2})
    assert (status, err["error"]["quota"], err["error"]["message"]) == (
        402,
        "credits_per_day",
        "job exceeds the daily credit quota",
    )
    purge()
