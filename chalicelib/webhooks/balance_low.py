"""balance.low: announced once per fall of a workspace's available credits below its level.

- The level is the owner's own: the auto top-up threshold once configured (enabled or not);
  otherwise BALANCE_LOW_CREDITS (default 100 credits).
- Checked by the webhooks worker, never by a request or the generation worker: after every
  job.*, topup.* and training.* event (so after the settlement or release committed, by its
  own SQS message) and on a `balance_check` message (admin grants and purchases ask for one).
- A check that finds the workspace below its level while armed flips it to low and writes the
  event's outbox row in one transaction conditioned on the wallet and on the alert's state: of
  racing checks exactly one wins, and the event id is derived from the crossing number, so a
  crossing has one id however often it is triggered. Checks while low emit nothing.
- A check that finds it at or above its level again re-arms it (again conditioned on the wallet).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import clock
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings
from chalicelib.store import balance_alerts
from chalicelib.store.models import BalanceAlertModel
from chalicelib.webhooks import outbox, queue
from chalicelib.webhooks.events import event_id

WATCHED = ("job.", "topup.", "training.")  # events after which the balance may have moved


@dataclass(frozen=True)
class Level:
    """Below this many available credits a workspace is low; `source` says whose number it is."""

    credits: int
    source: str  # "auto_topup" | "default"


def level(workspace_id: str) -> Level:
    from chalicelib.billing.topup import low_balance_threshold

    configured = low_balance_threshold(workspace_id)
    if configured is not None:
        return Level(configured, "auto_topup")
    return Level(get_settings().balance_low_credits, "default")


def watches(event_type: str) -> bool:
    return event_type.startswith(WATCHED)


def observe(workspace_id: str) -> str:
    """Check the balance now; returns what happened (emitted, rearmed, still_low, ok, ...)."""
    available, alert = balance_alerts.read(workspace_id)
    if available is None:
        return "no_wallet"
    limit = level(workspace_id)
    if available < limit.credits:
        return "still_low" if alert.low else _cross(alert, available, limit)
    if not alert.low:
        return "ok"
    if not balance_alerts.rearm(alert, limit.credits, clock.now()):
        return "changed"
    count("BalanceLowRearmed")
    return "rearmed"


def _cross(alert: BalanceAlertModel, available: int, limit: Level) -> str:
    now = clock.now()
    crossing = int(alert.crossings or 0) + 1
    data = {
        "balance": {"available": available, "threshold": limit.credits, "threshold_source": limit.source, "crossing": crossing}
    }
    key = f"balance.low:{alert.workspace_id}:{crossing}"
    event = outbox.pending_row("balance.low", alert.workspace_id, data, event_id(key, now), now)
    if not balance_alerts.flip_low(alert, limit.credits, event, now):
        return "changed"  # another check won this crossing, or the balance moved back up
    count("BalanceLowEvents", source=limit.source)
    logger.info("balance low", extra={"workspace_id": alert.workspace_id, "available": available, "threshold": limit.credits})
    outbox.announce(event)
    return "emitted"


def observe_safely(workspace_id: str) -> str:
    """`observe` for the webhooks worker: a failed check is logged, never fails the message."""
    try:
        return observe(workspace_id)
    except Exception:
        count("BalanceChecksFailed")
        logger.exception("balance check failed", extra={"error_code": "balance_check_failed", "workspace_id": workspace_id})
        return "failed"


def request_check(workspace_id: str) -> None:
    """Ask the webhooks worker to check the balance (after credits were granted or taken);
    never fails the caller, whose change is committed."""
    try:
        queue.send({"type": "balance_check", "workspace_id": workspace_id})
    except Exception:
        logger.warning("balance check not queued", extra={"error_code": "balance_check_failed", "workspace_id": workspace_id})
