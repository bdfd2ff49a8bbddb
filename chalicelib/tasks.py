"""The scheduled tasks by name: EventBridge rules, the local scheduler and the admin
"run now" button all call these same functions."""

from __future__ import annotations

from typing import Any, Callable

from chalicelib import bootstrap, clock
from chalicelib.accounting import maintenance
from chalicelib.accounting.periods import previous_period
from chalicelib.billing.statements import write_statements
from chalicelib.billing.topup import after_settlement
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings


def monthly_reset() -> dict[str, Any]:
    """Roll active wallets over, queue due top-ups, write invoiced customers' statements."""
    bootstrap.ready()
    report = maintenance.monthly_reset(clock.now())
    topups = sum(1 for ws in report.workspaces if after_settlement(ws))  # a new month may need a top-up
    statements = write_statements(previous_period(report.period))  # invoiced customers' statements
    logger.info(
        "monthly_reset done",
        extra={
            "period": report.period,
            "considered": report.considered,
            "rolled_over": report.rolled_over,
            "statements": len(statements),
        },
    )
    return {
        "period": report.period,
        "considered": report.considered,
        "rolled_over": report.rolled_over,
        "topups_queued": topups,
        "statements": len(statements),
    }


def release_stale_holds() -> dict[str, Any]:
    """Fail the jobs whose holds outlived every delivery (their hold released)."""
    bootstrap.ready()
    released = maintenance.release_stale_holds(clock.now(), get_settings().hold_max_age_s)
    if released:
        logger.warning("released stale holds", extra={"released": len(released), "job_ids": released[:50]})
        count("StaleHoldsReleased", len(released))
    return {"released": len(released), "job_ids": released}


def reconcile() -> dict[str, Any]:
    """Check every wallet against its ledger; drift is an error log and a metric (alarmed)."""
    bootstrap.ready()
    report = maintenance.reconcile()
    count("ReconcileDrift", float(report["drifted"]))  # type: ignore[arg-type]
    if report["drifted"]:
        logger.error("ledger drift found", extra={"error_code": "ledger_drift", **report})
    else:
        logger.info("reconcile clean", extra={"wallets": report["wallets"]})
    return report


def purge_library() -> dict[str, Any]:
    """Delete images trashed 30 days ago (rows and objects) and uploads never completed."""
    from chalicelib.library.purge import purge_due

    bootstrap.ready()
    report = purge_due(clock.now())
    logger.info("library purge done", extra=report.__dict__)
    return dict(report.__dict__)


def sweep_outbox() -> dict[str, Any]:
    """Send again the outgoing events whose queue message never went out (or whose fan-out died)."""
    from chalicelib.webhooks.outbox import sweep

    bootstrap.ready()
    return dict(sweep())


SCHEDULED: dict[str, Callable[[], dict[str, Any]]] = {
    "monthly_reset": monthly_reset,
    "release_stale_holds": release_stale_holds,
    "reconcile": reconcile,
    "purge_library": purge_library,
}
SCHEDULED["sweep_outbox"] = sweep_outbox  # outgoing events (issue 14)


def sweep_payouts() -> dict[str, Any]:
    """Finish the creator payouts left `requested` by a crash or a lost Stripe answer."""
    from chalicelib.marketplace.earnings import sweep_requested_payouts

    bootstrap.ready()
    report = sweep_requested_payouts(clock.now())
    if any(report.values()):
        logger.warning("swept requested payouts", extra=report)
        count("PayoutsSwept", float(report["paid"] + report["returned"]))
    return dict(report)


SCHEDULED["sweep_payouts"] = sweep_payouts  # marketplace payouts (issue 16)
