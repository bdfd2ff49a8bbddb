"""The scheduled tasks by name: EventBridge rules, the local scheduler and the admin
"run now" button all call these same functions."""

from __future__ import annotations

from typing import Any, Callable

from chalicelib import clock
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings
from chalicelib.store import bind_models


def monthly_reset() -> dict[str, Any]:
    from chalicelib.accounting.maintenance import monthly_reset as run
    from chalicelib.accounting.periods import previous_period
    from chalicelib.billing.statements import write_statements
    from chalicelib.billing.topup import after_settlement

    bind_models()
    report = run(clock.now())
    topups = sum(1 for ws in report.workspaces if after_settlement(ws))  # a new month may need a top-up
    statements = write_statements(previous_period(report.period))  # invoiced customers' statements
    logger.info("monthly_reset done", extra={"period": report.period, "considered": report.considered,
                                             "rolled_over": report.rolled_over, "statements": len(statements)})
    return {"period": report.period, "considered": report.considered, "rolled_over": report.rolled_over,
            "topups_queued": topups, "statements": len(statements)}


def release_stale_holds() -> dict[str, Any]:
    from chalicelib.accounting.maintenance import release_stale_holds as run

    bind_models()
    released = run(clock.now(), get_settings().hold_max_age_s)
    if released:
        logger.warning("released stale holds", extra={"released": len(released), "job_ids": released[:50]})
        count("StaleHoldsReleased", len(released))
    return {"released": len(released), "job_ids": released}


def reconcile() -> dict[str, Any]:
    from chalicelib.accounting.maintenance import reconcile as run

    bind_models()
    report = run()
    count("ReconcileDrift", float(report["drifted"]))  # type: ignore[arg-type]
    if report["drifted"]:
        logger.error("ledger drift found", extra={"error_code": "ledger_drift", **report})
    else:
        logger.info("reconcile clean", extra={"wallets": report["wallets"]})
    return report


SCHEDULED: dict[str, Callable[[], dict[str, Any]]] = {
    "monthly_reset": monthly_reset,
    "release_stale_holds": release_stale_holds,
    "reconcile": reconcile,
}
