"""The admin webhooks view: a workspace's endpoints of every kind, recent deliveries with the
failing ones first, replay and disable/enable, each audited; admins only, bad input refused."""

from __future__ import annotations

from typing import Any

from chalicelib.store.audit import trail
from tests.functional.helpers import call, drain
from tests.functional.test_webhooks_delivery import endpoint_for
from tests.functional.webhook_helpers import drain_webhooks, receiver

BASE = "/admin/api/workspaces/{ws}"


def _setup(api: Any, owner: Any, failing: Any, working: Any) -> tuple[str, str]:
    bad, _ = endpoint_for(api, owner, failing.url, ["job.succeeded"])
    good, _ = endpoint_for(api, owner, working.url, ["job.succeeded"])
    for n in range(2):
        assert call(api, "POST", "/v1/jobs", owner, {"prompt": f"a bell {n}"})[0] == 202
    drain()
    drain_webhooks()  # first attempts: the bad endpoint's retries wait for their SQS delay
    return bad, good


def test_deliveries_failing_first_replay_and_disable_each_audited(api: Any, make_tenant: Any, admin: Any) -> None:
    owner = make_tenant()
    base = BASE.format(ws=owner.workspace_id)
    with receiver(answers=[500] * 20) as failing, receiver() as working:
        bad, good = _setup(api, owner, failing, working)
        status, endpoints, _ = call(api, "GET", f"{base}/webhook-endpoints", admin)
        assert status == 200 and {e["id"] for e in endpoints["data"]} == {bad, good}
        by_id = {e["id"]: e for e in endpoints["data"]}
        assert by_id[bad]["failing_since"] is not None and by_id[good]["failing_since"] is None
        assert all(e["kind"] == "webhook" for e in endpoints["data"])

        status, page, _ = call(api, "GET", f"{base}/webhook-deliveries", admin)
        assert status == 200 and len(page["data"]) == 4
        assert [d["endpoint_id"] for d in page["data"]] == [bad, bad, good, good]  # failing first
        assert [d["status"] for d in page["data"]] == ["pending", "pending", "succeeded", "succeeded"]
        only, _ = call(api, "GET", f"{base}/webhook-deliveries?endpoint_id={good}&limit=1", admin)[1:]
        assert [d["endpoint_id"] for d in only["data"]] == [good]

        delivered = page["data"][2]
        status, replayed, _ = call(
            api, "POST", f"{base}/webhook-deliveries/{delivered['id']}/replay", admin, {"reason": "lost it"}
        )
        assert status == 202 and replayed["delivery"]["id"] == delivered["id"]
        drain_webhooks()
        assert len(working.requests) == 3  # two deliveries and the replay, with the same webhook-id
        assert working.requests[-1]["headers"]["webhook-id"] == delivered["event_id"]

        status, disabled, _ = call(
            api, "POST", f"{base}/webhook-endpoints/{bad}/disable", admin, {"reason": "hammering a dead host"}
        )
        assert status == 200 and disabled["endpoint"]["status"] == "disabled"
        assert "hammering a dead host" in disabled["endpoint"]["disabled_reason"]
        again = call(api, "POST", f"{base}/webhook-endpoints/{bad}/disable", admin, {"reason": "twice"})
        assert again[0] == 409 and again[1]["error"]["code"] == "conflict"
        refused = call(api, "POST", f"{base}/webhook-deliveries/{page['data'][0]['id']}/replay", admin)
        assert refused[0] == 409  # replaying to a disabled endpoint: enable it first
        status, enabled, _ = call(api, "POST", f"{base}/webhook-endpoints/{bad}/enable", admin, {"reason": "host is back"})
        assert status == 200 and enabled["endpoint"]["status"] == "enabled" and enabled["endpoint"]["failing_since"] is None
    actions = [(a.action, a.actor, a.reason) for a in trail(owner.workspace_id)]
    assert ("webhooks.delivery_replayed", admin.user_id, "lost it") in actions
    assert ("webhooks.endpoint_disabled", admin.user_id, "hammering a dead host") in actions
    assert ("webhooks.endpoint_enabled", admin.user_id, "host is back") in actions
    assert not any(a[2] == "twice" for a in actions)  # a refused change leaves no audit row


def test_admins_only_and_bad_input_changes_nothing(api: Any, make_tenant: Any, admin: Any) -> None:
    owner, other = make_tenant(), make_tenant()
    base = BASE.format(ws=owner.workspace_id)
    with receiver() as hook:
        endpoint_id, _ = endpoint_for(api, owner, hook.url)
        foreign, _ = endpoint_for(api, other, hook.url)
    for method, path, body in (
        ("GET", f"{base}/webhook-endpoints", None),
        ("GET", f"{base}/webhook-deliveries", None),
        ("POST", f"{base}/webhook-endpoints/{endpoint_id}/disable", {"reason": "x"}),
        ("POST", f"{base}/webhook-endpoints/{endpoint_id}/enable", {"reason": "x"}),
        ("POST", f"{base}/webhook-deliveries/whd_01J00000000000000000000000/replay", None),
    ):
        status, answer, _ = call(api, method, path, owner, body)
        assert status == 403 and answer["error"]["code"] == "forbidden", path
    cases = [
        ("GET", "/admin/api/workspaces/ws_nope/webhook-endpoints", None, 404),
        ("GET", f"{base}/webhook-deliveries?limit=0", None, 400),
        ("GET", f"{base}/webhook-deliveries?status=failed", None, 400),  # not a parameter it takes
        ("GET", f"{base}/webhook-deliveries?endpoint_id={foreign}", None, 404),
        ("POST", f"{base}/webhook-endpoints/{foreign}/disable", {"reason": "not yours"}, 404),
        ("POST", f"{base}/webhook-endpoints/{endpoint_id}/disable", {}, 400),
        ("POST", f"{base}/webhook-endpoints/{endpoint_id}/disable", {"reason": ""}, 400),
        ("POST", f"{base}/webhook-endpoints/{endpoint_id}/disable", {"reason": 7}, 400),
        ("POST", f"{base}/webhook-endpoints/{endpoint_id}/enable", {"reason": "already on"}, 409),
        ("POST", f"{base}/webhook-deliveries/whd_01J00000000000000000000000/replay", None, 404),
        ("POST", f"{base}/webhook-deliveries/not-an-id/replay", {"reason": 1}, 400),
    ]
    for method, path, body, expected in cases:
        status, answer, _ = call(api, method, path, admin, body)
        assert status == expected and "request_id" in answer["error"], (path, body, answer)
    listed = call(api, "GET", f"{base}/webhook-endpoints", admin)[1]["data"]
    assert [(e["id"], e["status"]) for e in listed] == [(endpoint_id, "enabled")]
    assert call(api, "GET", BASE.format(ws=other.workspace_id) + "/webhook-endpoints", admin)[1]["data"][0]["status"] == "enabled"
