"""Accounting benchmark: DynamoDB requests per admission/settlement, admission overhead,
monthly_reset cost vs idle workspaces, and overspend under concurrency.

    .venv/bin/python bench/accounting.py

Runs on moto's server (serialized, loopback). The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UTC = UTC


from chalicelib.store.request_counter import RequestCounter  # noqa: E402


def start_moto() -> tuple[int, Callable[[], None]]:
    """moto in its own process, as DynamoDB is outside the Lambda: 32 client threads here do not
    share a GIL with the server's request handling (BENCH_MOTO_INPROCESS=1 to compare)."""
    if os.environ.get("BENCH_MOTO_INPROCESS"):
        from chalicelib.local.moto_server import SerializedMotoServer

        server = SerializedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        return server.port, server.stop
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local.moto_server", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("moto listening"), line
    return int(line.rsplit(":", 1)[1]), proc.terminate


class Sections:
    """Seconds spent in each named section of the run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last: tuple[str, float] | None = None

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        if self._last:
            self.seconds[self._last[0]] = round(now - self._last[1], 1)
        self._last = (name, now)


class Tenant:
    """A workspace on `plan` with unlimited rate limits, as the API has it after authentication."""

    def __init__(self, plan: str = "pro") -> None:
        from chalicelib.store.models import WorkspaceModel
        from chalicelib.tenancy import create_workspace
        from tests.functional.accounting_helpers import UNLIMITED

        made = create_workspace("bench", "bench@example.test", plan)
        WorkspaceModel(made.workspace.workspace_id).update(actions=[WorkspaceModel.limits.set(UNLIMITED)])
        self.workspace_id, self.user_id, self.key_id = made.workspace.workspace_id, made.owner.user_id, made.key.key_id
        self.ws = WorkspaceModel.get(self.workspace_id)


def requests_per_operation(counter: RequestCounter, fc: Any, tenant: Tenant) -> dict[str, Any]:
    """1. Requests per admission (steady state), per first admission of a window, per settlement."""
    from chalicelib import clock
    from chalicelib.accounting.settlement import JobFinal, Usage, settle_job
    from chalicelib.store.models import JobModel
    from tests.functional.accounting_helpers import admit

    admit(tenant, workspace=tenant.ws)  # warm clients
    n = 200
    counter.reset()
    admissions = []
    for _ in range(n):
        fc.advance(milliseconds=10)
        admissions.append(admit(tenant, workspace=tenant.ws))
    per_admission = counter.total / n
    # First admission of a new window when the previous window had traffic (learns its count once).
    fc.set(datetime(2026, 11, 24, 12, 1, 1, tzinfo=UTC))
    counter.reset()
    admit(tenant, workspace=tenant.ws)
    first_in_window = counter.total
    counter.reset()
    admit(tenant, workspace=tenant.ws)
    second_in_window = counter.total
    jobs = [JobModel.get(tenant.workspace_id, a.job_id) for a in admissions]
    counter.reset()
    for job in jobs:
        settle_job(job, Usage(images=1, credits=1, provider_ms=5), JobFinal("succeeded", clock.now()), clock.now())
    return {
        "ddb_requests_per_admission": round(per_admission, 3),
        "ddb_requests_first_admission_after_busy_window": first_in_window,
        "ddb_requests_next_admission_same_window": second_in_window,
        "ddb_requests_per_settlement": round(counter.total / len(jobs), 3),
    }


def admission_overhead(fc: Any, tenant: Tenant) -> dict[str, Any]:
    """2. Admission overhead: in-process admission vs a bare transact_write_items of as many items."""
    from chalicelib.aws import client
    from chalicelib.store.models import WalletModel
    from tests.functional.accounting_helpers import admit

    ddb = client("dynamodb")
    table = WalletModel.Meta.table_name.replace("wallets", "counters")
    items_per_admission = 9  # 4 rate windows + quota + wallet + hold + ledger + job
    admit_times, bare_times = [], []
    for i in range(150):
        fc.advance(milliseconds=5)
        started = time.perf_counter()
        admit(tenant, workspace=tenant.ws)
        admit_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"counter_key": {"S": f"bare#{i}#{k}"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
                for k in range(items_per_admission)
            ]
        )
        bare_times.append(time.perf_counter() - started)
    return {
        "admission_overhead_ratio": round(statistics.median(admit_times) / statistics.median(bare_times), 3),
        "admission_median_ms": round(statistics.median(admit_times) * 1000, 2),
        "bare_transact_median_ms": round(statistics.median(bare_times) * 1000, 2),
    }


def reset_cost(counter: RequestCounter, fc: Any, active: int, idle: int, month: int) -> int:
    """3. Requests one monthly_reset makes with `active` and `idle` workspaces (idle ones cost nothing)."""
    from chalicelib import clock
    from chalicelib.accounting.maintenance import monthly_reset
    from chalicelib.accounting.periods import period_of
    from chalicelib.store.models import WalletModel
    from tests.functional.accounting_helpers import admit

    fc.set(datetime(2027, month, 10, tzinfo=UTC))
    last = period_of(clock.now())
    for _ in range(active):
        t = Tenant("free")
        admit(t, workspace=t.ws)
    with WalletModel.batch_write() as batch:
        for i in range(idle):
            batch.save(
                WalletModel(
                    f"ws_idle_{month}_{i}",
                    period="2026-01",
                    plan="free",
                    allowance_granted=50,
                    available=50,
                    last_active="2026-01",
                )
            )
    fc.set(datetime(2027, month + 1, 1, 0, 5, tzinfo=UTC))
    counter.reset()
    report = monthly_reset(clock.now())
    assert report.rolled_over == active, report
    assert last < period_of(clock.now())
    return counter.total


def overspend_under_concurrency(counter: RequestCounter, fc: Any) -> dict[str, Any]:
    """4. Overspend under concurrency: 32 threads x 20 attempts on a wallet that affords 100."""
    from chalicelib import clock
    from chalicelib.accounting.ledger import adjust, get_wallet
    from chalicelib.store.models import LedgerEntryModel

    fc.set(datetime(2027, 6, 1, 12, tzinfo=UTC))
    poor = Tenant("free")
    adjust(poor.workspace_id, 50, reason="bench", actor="bench", now=clock.now())
    counter.enabled = False
    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = Counter(pool.map(lambda _: _attempt(poor), range(32 * 20)))
    # What was admitted is what the ledger holds, whatever the clients were told.
    admitted = sum(1 for e in LedgerEntryModel.query(poor.workspace_id, consistent_read=True) if e.type == "hold")
    wallet = get_wallet(poor.workspace_id)
    return {
        "concurrent_admitted": admitted,
        "concurrent_outcomes": dict(outcomes),
        "concurrent_overspend": max(0, admitted - 100) + max(0, -int(wallet.available)),
    }


def _attempt(tenant: Tenant) -> str:
    from chalicelib.accounting.errors import AmbiguousWrite, Contention, Denied
    from tests.functional.accounting_helpers import admit

    try:
        admit(tenant, workspace=tenant.ws)
        return "admitted"
    except Denied:
        return "denied"
    except (AmbiguousWrite, Contention) as exc:  # a 503 for the client: it retries later
        return type(exc).__name__


def main() -> None:
    from chalicelib import clock
    from chalicelib.local.stack import configure_environment, create_resources

    port, stop = start_moto()
    sections = Sections()
    configure_environment(port, "bench", STAGE="test", POWERTOOLS_METRICS_NAMESPACE="Bench", POWERTOOLS_LOG_LEVEL="ERROR")
    os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "Bench"
    create_resources()
    counter = RequestCounter()
    counter.install()
    fc = clock.FrozenClock(datetime(2026, 11, 24, 12, 0, 5, tzinfo=UTC))
    clock.set_clock(fc)
    result: dict[str, Any] = {}
    sections.mark("requests")
    tenant = Tenant()
    result.update(requests_per_operation(counter, fc, tenant))
    sections.mark("overhead")
    result.update(admission_overhead(fc, tenant))
    sections.mark("reset")
    result["reset_requests_idle_10"] = reset_cost(counter, fc, active=10, idle=10, month=1)
    result["reset_requests_idle_1000"] = reset_cost(counter, fc, active=10, idle=1000, month=3)
    sections.mark("concurrency")
    result.update(overspend_under_concurrency(counter, fc))
    stop()
    sections.mark("end")
    result["section_seconds"] = sections.seconds
    print(json.dumps(result))


if __name__ == "__main__":
    main()
