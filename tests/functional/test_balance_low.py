"""balance.low: one event per fall below the level, none while low, re-armed by credits coming
back; produced by the webhooks worker after the settlement committed, never in it."""

from __future__ import annotations

import json
import threading
from typing import Any

from chalicelib.store.models import BalanceAlertModel, WebhookEventModel
from chalicelib.webhooks import balance_low
from tests.functional.helpers import call, drain
from tests.functional.test_webhooks_delivery import endpoint_for
from tests.functional.webhook_helpers import drain_webhooks, receiver

LEVEL = 100  # Settings.balance_low_credits: the level of a workspace without auto top-up settings


def _available(api: Any, tenant: Any) -> int:
    status, balance, _ = call(api, "GET", "/v1/balance", tenant)
    assert status == 200
    return int(balance["available"])


def _adjust(api: Any, admin: Any, tenant: Any, amount: int) -> None:
    body = {"amount": amount, "reason": "balance.low test"}
    assert call(api, "POST", f"/admin/api/workspaces/{tenant.workspace_id}/credits", admin, body)[0] == 201


def _to(api: Any, admin: Any, tenant: Any, target: int) -> None:
    """Grant or deduct so that `available` is `target`."""
    _adjust(api, admin, tenant, target - _available(api, tenant))
    assert _available(api, tenant) == target


def _job(api: Any, tenant: Any, n: int = 1) -> None:
    assert call(api, "POST", "/v1/jobs", tenant, {"prompt": "a tin can", "n": n})[0] == 202
    drain()


def _lows(hook: Any, secret: str) -> list[dict[str, Any]]:
    return [b for b in hook.verified(secret) if b["type"] == "balance.low"]


def _stored_lows(workspace_id: str) -> list[WebhookEventModel]:
    return [e for e in WebhookEventModel.query(workspace_id) if e.type == "balance.low"]


def test_a_crossing_emits_one_event_none_while_low_and_credits_re_arm_it(api: Any, make_tenant: Any, admin: Any) -> None:
    owner = make_tenant()
    with receiver() as hook:
        _, secret = endpoint_for(api, owner, hook.url, ["balance.low"])
        _to(api, admin, owner, LEVEL + 2)
        drain_webhooks()
        _job(api, owner, n=4)  # 102 - 4 = 98: below the level
        assert _stored_lows(owner.workspace_id) == []  # the generation worker never produces it
        drain_webhooks()
        (first,) = _lows(hook, secret)
        assert first["data"]["balance"] == {"available": 98, "threshold": LEVEL, "threshold_source": "default", "crossing": 1}
        for _ in range(2):  # further jobs while low: nothing
            _job(api, owner)
            drain_webhooks()
        assert len(_lows(hook, secret)) == 1
        _adjust(api, admin, owner, 50)  # 96 + 50: above again, re-armed
        drain_webhooks()
        alert = BalanceAlertModel.get(owner.workspace_id, consistent_read=True)
        assert alert.low is False and int(alert.crossings) == 1 and len(_lows(hook, secret)) == 1
        _job(api, owner, n=4)  # 146 - 4: still above
        drain_webhooks()
        assert len(_lows(hook, secret)) == 1
        _to(api, admin, owner, LEVEL - 1)  # a deduction may cross too
        drain_webhooks()
        lows = _lows(hook, secret)
        assert [b["data"]["balance"]["crossing"] for b in lows] == [1, 2]
        ids = [r["headers"]["webhook-id"] for r in hook.requests if json.loads(r["body"])["type"] == "balance.low"]
        assert len(set(ids)) == 2


def test_the_owners_auto_topup_threshold_is_the_level(api: Any, make_tenant: Any, admin: Any) -> None:
    owner = make_tenant()
    settings = {"enabled": False, "threshold": 500, "amount": 500, "monthly_cap": 5000}
    assert call(api, "PUT", "/v1/billing/auto-topup", owner, settings)[0] == 200
    _to(api, admin, owner, 501)
    drain_webhooks()
    assert _stored_lows(owner.workspace_id) == []
    _job(api, owner, n=2)
    drain_webhooks()
    (event,) = _stored_lows(owner.workspace_id)
    assert event.data["balance"]["threshold"] == 500 and event.data["balance"]["threshold_source"] == "auto_topup"


def test_duplicate_and_concurrent_checks_emit_one_event_per_crossing(api: Any, make_tenant: Any, admin: Any) -> None:
    owner = make_tenant()
    _to(api, admin, owner, LEVEL - 10)  # its own check is still queued: every check below races it
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def check() -> None:
        start.wait()
        outcomes.append(balance_low.observe(owner.workspace_id))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drain_webhooks()  # the admin's queued check and the event's own message
    assert outcomes.count("emitted") == 1, outcomes
    assert len(_stored_lows(owner.workspace_id)) == 1
    assert balance_low.observe(owner.workspace_id) == "still_low"


def test_a_check_that_read_a_stale_balance_never_flips_it(api: Any, make_tenant: Any, admin: Any) -> None:
    """The flip's condition is on the wallet, not on what the check read a moment before."""
    from chalicelib.store import balance_alerts

    owner = make_tenant()
    _to(api, admin, owner, LEVEL - 1)
    drain_webhooks()
    assert len(_stored_lows(owner.workspace_id)) == 1
    _, alert = balance_alerts.read(owner.workspace_id)  # low, read before the grant below
    _adjust(api, admin, owner, 500)
    assert balance_alerts.flip_low(alert, LEVEL, _stored_lows(owner.workspace_id)[0], alert.changed_at) is False
    drain_webhooks()
    _, stale = balance_alerts.read(owner.workspace_id)  # armed again
    _adjust(api, admin, owner, -500)  # below again, before the stale check commits its re-arm
    assert balance_alerts.rearm(alert, LEVEL, alert.changed_at) is False
    assert stale.low is False
