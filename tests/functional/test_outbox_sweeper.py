"""The outbox sweeper: an event whose queue message never went out is delivered all the same,
once. Each test crashes (or fails) one step of the way and shows what the sweeper does after."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import clock
from chalicelib.store import webhook_events
from chalicelib.store.models import WebhookDeliveryModel
from chalicelib.tasks import sweep_outbox
from chalicelib.webhooks import delivery, event_id, outbox, queue
from tests.functional.test_webhooks_delivery import endpoint_for
from tests.functional.webhook_helpers import drain_webhooks, receiver

AFTER_S = 600  # Settings.outbox_sweep_after_s


class Crash(Exception):
    """The process dies here."""


def _ours(workspace_id: str) -> list[Any]:
    return [m for m in drain_webhooks() if m.get("workspace_id") == workspace_id]


def _event(workspace_id: str, key: str) -> tuple[str, dict[str, Any]]:
    return event_id(key, clock.now()), {"job": {"id": key}}


def test_a_stored_event_whose_message_never_went_out_is_sent_by_the_sweeper_once(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_tenant()
    with receiver() as hook:
        endpoint_for(api, owner, hook.url, ["job.succeeded"])
        evt, data = _event(owner.workspace_id, "stored-crash")

        def dies(*args: Any, **kwargs: Any) -> None:
            raise Crash("killed between the outbox row and the SQS message")

        monkeypatch.setattr(queue, "send", dies)
        assert outbox.emit_stored("job.succeeded", owner.workspace_id, data, evt, clock.now())  # the row is written
        monkeypatch.undo()
        assert _ours(owner.workspace_id) == [] and hook.requests == []
        frozen_clock.advance(seconds=AFTER_S - 1)
        assert _swept(owner.workspace_id) == 0  # not yet: the message may still be on its way
        frozen_clock.advance(seconds=1)
        assert _swept(owner.workspace_id) == 1
        assert len(hook.requests) == 1 and hook.requests[0]["headers"]["webhook-id"] == evt
        frozen_clock.advance(seconds=AFTER_S * 3)
        assert _swept(owner.workspace_id) == 0 and len(hook.requests) == 1  # fanned out: never again
    row = webhook_events.get(owner.workspace_id, evt)
    assert row is not None and row.fanned_out and row.sweep_shard is None


def _swept(workspace_id: str) -> int:
    """Run the scheduled task, then the webhooks worker; how many of our events it re-sent."""
    sweep_outbox()
    return sum(1 for m in _ours(workspace_id) if m["type"] == "event" and m.get("stored"))


def test_a_failed_send_after_a_settlement_is_kept_and_swept(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_tenant()
    with receiver() as hook:
        endpoint_for(api, owner, hook.url, ["job.succeeded"])
        evt, data = _event(owner.workspace_id, "send-failed")
        monkeypatch.setattr(queue, "send", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("SQS is down")))
        outbox.emit_safely("job.succeeded", owner.workspace_id, data, evt)  # never raises
        monkeypatch.undo()
        kept = webhook_events.get(owner.workspace_id, evt)
        assert kept is not None and not kept.fanned_out and kept.sweep_shard is not None
        assert _swept(owner.workspace_id) == 1  # due at once: nothing else will send it
        assert [r["headers"]["webhook-id"] for r in hook.requests] == [evt]


def test_a_worker_that_died_after_writing_the_row_is_finished_by_the_sweeper_and_the_duplicate_dedupes(
    api: Any, make_tenant: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_tenant()
    with receiver() as hook:
        endpoint_id, _ = endpoint_for(api, owner, hook.url, ["job.succeeded"])
        evt, data = _event(owner.workspace_id, "fanout-crash")
        real_fan_out = delivery.fan_out

        def dies(*args: Any, **kwargs: Any) -> int:
            raise Crash("killed after the outbox row, before the deliveries")

        monkeypatch.setattr(delivery, "fan_out", dies)
        outbox.emit("job.succeeded", owner.workspace_id, data, evt)
        drain_webhooks(rounds=1)  # the record fails: its message would come back (here: it is lost)
        monkeypatch.setattr(delivery, "fan_out", real_fan_out)
        assert webhook_events.get(owner.workspace_id, evt) is not None and hook.requests == []
        frozen_clock.advance(seconds=AFTER_S)
        sweep_outbox()
        outbox.emit("job.succeeded", owner.workspace_id, data, evt)  # and SQS redelivers the original too
        drain_webhooks()
        assert [r["headers"]["webhook-id"] for r in hook.requests] == [evt]
    assert len(list(WebhookDeliveryModel.by_endpoint.query(endpoint_id))) == 1


def test_concurrent_sweepers_send_an_event_once(make_tenant: Any, frozen_clock: Any) -> None:
    owner = make_tenant()
    evt, data = _event(owner.workspace_id, "two-sweepers")
    assert webhook_events.insert(owner.workspace_id, evt, "job.succeeded", data, clock.now(), int(clock.now().timestamp()))
    (seen,) = [e for e in webhook_events.due(int(clock.now().timestamp()), 10_000) if e.event_id == evt]
    late = webhook_events.get(owner.workspace_id, evt)
    assert late is not None and webhook_events.claim_resend(seen, int(clock.now().timestamp()) + AFTER_S)
    assert not webhook_events.claim_resend(late, int(clock.now().timestamp()) + AFTER_S)  # the other sweeper read the same row


def test_a_stored_event_nobody_listens_to_leaves_the_sweepers_index(make_tenant: Any, frozen_clock: Any) -> None:
    owner = make_tenant()
    evt, data = _event(owner.workspace_id, "nobody")
    assert outbox.emit_stored("job.succeeded", owner.workspace_id, data, evt, clock.now())
    assert not outbox.emit_stored("job.succeeded", owner.workspace_id, data, evt, clock.now())  # a duplicate trigger
    drain_webhooks()
    row = webhook_events.get(owner.workspace_id, evt)
    assert row is not None and row.fanned_out and row.sweep_shard is None
    frozen_clock.advance(seconds=AFTER_S * 2)
    assert all(e.event_id != evt for e in webhook_events.due(int(clock.now().timestamp()), 10_000))
