"""Fires the scheduled handlers locally: stale holds every minute, reconcile every 10
minutes, monthly_reset at start and whenever the month changes (EventBridge's job in AWS)."""

from __future__ import annotations

import threading
import time

from chalicelib import clock
from chalicelib.accounting.periods import period_of
from chalicelib.observability import logger
from chalicelib.tasks import SCHEDULED

INTERVALS_S = {"release_stale_holds": 60, "reconcile": 600}
INTERVALS_S["purge_library"] = 600  # library: trash purge and expired uploads
INTERVALS_S["sweep_outbox"] = 60  # outgoing events whose queue message never went out
INTERVALS_S["sweep_payouts"] = 60  # creator payouts left `requested` (older than 5 minutes)


class LocalScheduler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="scheduler", daemon=True)
        self._halt = threading.Event()
        self._last_run: dict[str, float] = {}
        self._last_period: str | None = None

    def stop(self) -> None:
        self._halt.set()

    def tick(self) -> list[str]:
        """Run whatever is due now; returns the names it ran."""
        ran = []
        now = time.monotonic()
        period = period_of(clock.now())
        if period != self._last_period:
            self._run("monthly_reset")
            self._last_period = period
            ran.append("monthly_reset")
        for name, every in INTERVALS_S.items():
            if now - self._last_run.get(name, 0.0) >= every:
                self._run(name)
                self._last_run[name] = now
                ran.append(name)
        return ran

    def _run(self, name: str) -> None:
        try:
            SCHEDULED[name]()
        except Exception:
            logger.exception("scheduled job failed", extra={"error_code": "scheduled_failed", "job": name})

    def run(self) -> None:
        self._last_run = {name: time.monotonic() for name in INTERVALS_S}
        while not self._halt.wait(1.0):
            self.tick()
