"""What platform operators read: usage from the rollups, the jobs and denials of a window, the
ledger export. Every one is a handful of key-range queries, never a scan; the operator CLI
(`chalicelib.ops`) reads through the same store functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.accounting import usage as rollups
from chalicelib.accounting.denials import find_denials
from chalicelib.accounting.plans import PROVIDER_QUOTAS
from chalicelib.accounting.usage import FIELDS, GroupBy
from chalicelib.billing.catalog import CREDIT_LIST_PRICE_MICRO_USD
from chalicelib.generation.service import JobRecord, describe
from chalicelib.store import job_search, ledger_entries
from chalicelib.store.models import DenialModel, LedgerEntryModel
from chalicelib.tenancy.errors import InvalidQuery
from chalicelib.tenancy.service import get_workspace

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
USAGE_STATUSES = ("succeeded", "failed")  # the rollups count these two side by side
LEDGER_COLUMNS = (
    "created_at",
    "entry_id",
    "type",
    "amount",
    "held_delta",
    "job_id",
    "user_id",
    "provider",
    "model",
    "cost_micro_usd",
    "source",
    "reason",
)
USAGE_CSV_COLUMNS = ("day", "workspace_id", "provider", "model", *FIELDS)


@dataclass(frozen=True)
class Filters:
    """The admin views' narrowing: a workspace, one of its users, a provider, a model."""

    workspace_id: str | None = None
    user_id: str | None = None
    provider: str | None = None
    model: str | None = None

    def check(self) -> Filters:
        """Itself, if the filters name things that exist and go together."""
        if self.provider and self.provider not in PROVIDER_QUOTAS:
            raise InvalidQuery(f"provider must be one of {', '.join(PROVIDER_QUOTAS)}", field="provider")
        if self.user_id and not self.workspace_id:
            raise InvalidQuery("user_id needs workspace_id", field="user_id")
        return self

    def admits(self, *, user_id: str | None, provider: str | None, model: str | None) -> bool:
        """True when a row of that user, provider and model passes the filters."""
        return (
            (not self.user_id or user_id == self.user_id)
            and (not self.provider or provider == self.provider)
            and (not self.model or model == self.model)
        )


@dataclass(frozen=True)
class UsageReport:
    """The admin usage view: rows in a grouping, the top spenders and the totals."""

    group_by: str
    rows: list[dict[str, Any]]
    top_workspaces: list[dict[str, Any]]
    totals: dict[str, int]
    credit_value_micro_usd: int = CREDIT_LIST_PRICE_MICRO_USD


def _usage_rows(where: Filters, start: datetime, end: datetime, group_by: GroupBy, status: str | None) -> list[dict[str, Any]]:
    """Rows of one grouping, from a workspace's rollups or the platform's sharded ones."""
    if status and status not in USAGE_STATUSES:
        raise InvalidQuery("status must be succeeded or failed for usage", field="status")
    if group_by == GroupBy.USER and not where.workspace_id:
        raise InvalidQuery("group_by=user needs workspace_id", field="group_by")
    if where.workspace_id:
        rows = rollups.workspace_usage(
            where.workspace_id, start, end, group_by, provider=where.provider, model=where.model, user_id=where.user_id
        )
    else:
        rows = rollups.platform_usage(start, end, group_by, provider=where.provider, model=where.model)
    if status:  # rollups count succeeded (`jobs`) and `failed` jobs side by side
        column = "jobs" if status == "succeeded" else "failed"
        rows = [r for r in rows if r[column]]
    return rows


def usage(where: Filters, start: datetime, end: datetime, group_by: str, status: str | None) -> UsageReport:
    """Spend, cost and jobs from the daily rollups (never the ledger): a handful of queries."""
    rows = _usage_rows(where.check(), start, end, rollups.grouping(group_by, rollups.ADMIN_GROUPINGS), status)
    top = [] if where.workspace_id else rollups.top_workspaces(start, end)
    return UsageReport(group_by, rows, top, rollups.totals(rows, CREDIT_LIST_PRICE_MICRO_USD))


def usage_table(
    where: Filters, start: datetime, end: datetime, group_by: str, status: str | None
) -> tuple[tuple[str, ...], Iterable[list[Any]]]:
    """The usage CSV's columns and rows: a grouping's rows, or one row per workspace, day, provider
    and model (one rollup query per workspace that spent in those months)."""
    grouped = rollups.grouping(group_by, rollups.REPORT_GROUPINGS)
    where.check()
    if grouped != GroupBy.WORKSPACE_DAY_PROVIDER:
        rows = _usage_rows(where, start, end, grouped, status)
        return (grouped.value, *FIELDS), ([r["key"], *(r[name] for name in FIELDS)] for r in rows)
    if where.user_id:
        raise InvalidQuery("usage by user has no provider breakdown", field="user_id")
    return USAGE_CSV_COLUMNS, _workspace_day_rows(where, start, end)


def _workspace_day_rows(where: Filters, start: datetime, end: datetime) -> list[list[Any]]:
    spenders = (
        [where.workspace_id]
        if where.workspace_id
        else sorted(r["key"] for r in rollups.top_workspaces(start, end, limit=100_000))
    )
    return [
        [row["day"], ws, row["provider"], row["model"], *(row[name] for name in FIELDS)]
        for ws in spenders
        for row in rollups.workspace_day_model_rows(ws, start, end, provider=where.provider, model=where.model)
    ]


def find_jobs(
    where: Filters, status: str | None, start: datetime, end: datetime, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[JobRecord], dict[str, Any] | None]:
    """The jobs of a window ("what failed at 14:32 for X"), newest first, by workspace or by
    status; the provider, model and user filters apply to the page read."""
    if status and status not in JOB_STATUSES:
        raise InvalidQuery("unknown status", field="status")
    where.check()
    if not where.workspace_id and not status:
        raise InvalidQuery("give workspace_id or status", field="workspace_id")
    jobs, last = job_search.find_jobs(where.workspace_id, status, start, end, limit, cursor)
    kept = [j for j in jobs if where.admits(user_id=j.user_id, provider=j.provider, model=j.model)]
    return [describe(job) for job in kept], last


def denials(where: Filters, start: datetime, end: datetime, limit: int) -> list[DenialModel]:
    """Refused admissions in a window, newest first: the other half of "what happened at 14:32"."""
    where.check()
    return [d for d in find_denials(where.workspace_id, start, end, limit) if not where.user_id or d.user_id == where.user_id]


def ledger_table(where: Filters, start: datetime, end: datetime) -> Iterator[list[Any]]:
    """A workspace's ledger entries in the range, oldest first, as the CSV's rows (LEDGER_COLUMNS)."""
    where.check()
    if not where.workspace_id:
        raise InvalidQuery("the ledger export is per workspace: give workspace_id", field="workspace_id")
    get_workspace(where.workspace_id)
    entries = ledger_entries.between(where.workspace_id, start, end)
    return (_ledger_row(e) for e in entries if where.admits(user_id=e.user_id, provider=e.provider, model=e.model))


def _ledger_row(e: LedgerEntryModel) -> list[Any]:
    cost = int((e.details or {}).get("cost_micro_usd", 0) or 0)
    return [
        clock.iso(e.created_at),
        e.entry_id,
        e.type,
        int(e.amount),
        int(e.held_delta),
        e.job_id or "",
        e.user_id or "",
        e.provider or "",
        e.model or "",
        cost,
        e.source or "",
        e.reason or "",
    ]
